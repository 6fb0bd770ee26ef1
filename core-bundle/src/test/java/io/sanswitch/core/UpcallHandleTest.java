package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;

/**
 * docs/rules.md OV-handle on the scripted backend: with several sockets open at once (connected,
 * listening, accepted), every completion upcall, however it ends (the backend's report out of
 * posting order, closeSocket's abort, the final cleanup's abort), and every closeSocketHandle
 * carries the handle the switch gave that very socket.
 */
@Timeout(30)
class UpcallHandleTest extends EngineTestSupport {

    private final HandleCheckingSwitch sw = new HandleCheckingSwitch();

    private ScriptedTransport.ScriptedSocket backendOf(SocketHandle s) throws Exception {
        return (ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport();
    }

    /** A notify-mode receive on {@code s}; its overlapped's context is {@code s}. */
    private Overlapped recv(SocketHandle s) throws Exception {
        MemoryHandle m = register(s, 64);
        Overlapped ov = Overlapped.notifying(s);
        engine.recv(s, new WsaBuf[] {WsaBuf.of(m)}, ov);
        return ov;
    }

    @Test
    @Checks("OV-handle")
    void everyUpcallAboutASocketCarriesTheHandleTheSwitchGaveThatSocket() throws Exception {
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, sw);
        List<SocketHandle> sockets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sockets.add(connectedSocket());
        }
        SocketHandle listener = newSocket();
        engine.bind(listener, LOCAL);
        engine.listen(listener, Winsock.SOMAXCONN);
        engine.eventSelect(listener, new RecordingSwitch.Event(), NetworkEvents.FD_ACCEPT);
        backendOf(listener).arrive(REMOTE);
        sockets.add(engine.accept(listener, (p, d, c) -> ConditionDecision.CF_ACCEPT, 0).socket());

        List<Overlapped> posted = new ArrayList<>();
        // Reported by the backend, in the reverse of the posting order.
        for (SocketHandle s : sockets) {
            posted.add(recv(s));
        }
        List<SocketHandle> reversed = new ArrayList<>(sockets);
        Collections.reverse(reversed);
        for (SocketHandle s : reversed) {
            assertTrue(backendOf(s).completeOldest(8), "a receive held on " + s);
        }
        // Aborted by closeSocket of one socket while the others have operations pending.
        List<Overlapped> pendingAtClose = new ArrayList<>();
        for (SocketHandle s : sockets) {
            pendingAtClose.add(recv(s));
        }
        posted.addAll(pendingAtClose);
        SocketHandle closed = sockets.get(1);
        engine.closeSocket(closed);
        // Aborted by the final cleanup: the others' pending receives.
        engine.cleanup();

        assertEquals(List.of(), sw.mismatches, "upcalls that carried another handle than their socket's");
        for (Overlapped ov : posted) {
            assertEquals(1, sw.completionHandles.getOrDefault(ov, List.of()).size(), "completion upcalls of " + ov);
        }
        List<Long> given = sw.handlesGiven();
        assertEquals(sockets.size() + 1, given.size(), "one handle per socket, the listener included");
        assertEquals(given.size(), given.stream().distinct().count(), "distinct handles: " + given);
        List<Long> closedHandles = new ArrayList<>(sw.closedHandles);
        assertEquals(sw.handleOf.get(closed), closedHandles.get(0), "closeSocket's closeSocketHandle comes first");
        Collections.sort(closedHandles);
        Collections.sort(given);
        assertEquals(given, closedHandles, "each handle closed once, by its own socket's close");
    }
}
