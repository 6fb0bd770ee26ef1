package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.SpiCall;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.PostedOperation;

/**
 * the error lists of docs/rules.md: every call fails only with a code its list allows ({@link SpiCall}), whatever the
 * backend throws, whatever the input, and with no other exception type.
 */
@Timeout(120)
class ErrorListsTest extends EngineTestSupport {

    @FunctionalInterface
    interface SpiAction {
        void run() throws Exception;
    }

    record Invocation(SpiCall call, String what, SpiAction action) {
    }

    /** The errors seen per call, for the final check that each list was really exercised. */
    private final Map<SpiCall, Set<WsaError>> seen = new EnumMap<>(SpiCall.class);
    private final List<String> violations = new ArrayList<>();

    /** Every SPI call at least once, against the given sockets (some may be stale or null). */
    private List<Invocation> everyCall(SocketHandle connected, SocketHandle listener, MemoryHandle memory,
            RdmaBufferDescriptor descriptor) {
        return everyCall(connected, listener, memory, descriptor, new ArrayDeque<>(List.of(connected, connected,
                connected, connected, connected, connected)));
    }

    /**
     * Every SPI call at least once. {@code fresh} holds unbound sockets made before the scenario
     * began, so each invocation makes exactly one SPI call and its error is its own.
     */
    private List<Invocation> everyCall(SocketHandle connected, SocketHandle listener, MemoryHandle memory,
            RdmaBufferDescriptor descriptor, Deque<SocketHandle> fresh) {
        WsaBuf[] bufs = memory == null ? new WsaBuf[] {null} : new WsaBuf[] {WsaBuf.of(memory)};
        InetSocketAddress there = REMOTE;
        List<Invocation> all = new ArrayList<>();
        all.add(new Invocation(SpiCall.SOCKET, "socket", () -> newSocket()));
        all.add(new Invocation(SpiCall.SOCKET, "socket AF 99", () -> engine.socket(99, 1, 6, null, 0)));
        SocketHandle toBind = fresh.pop();
        SocketHandle toListen = fresh.pop();
        SocketHandle toConnect = fresh.pop();
        SocketHandle toConnectUnresolved = fresh.pop();
        SocketHandle toClose = fresh.pop();
        all.add(new Invocation(SpiCall.BIND, "bind", () -> engine.bind(toBind, LOCAL)));
        all.add(new Invocation(SpiCall.BIND, "bind connected", () -> engine.bind(connected, LOCAL)));
        all.add(new Invocation(SpiCall.BIND, "bind null", () -> engine.bind(connected, null)));
        all.add(new Invocation(SpiCall.LISTEN, "listen", () -> engine.listen(toListen, Winsock.SOMAXCONN)));
        all.add(new Invocation(SpiCall.LISTEN, "listen connected", () -> engine.listen(connected, 5)));
        all.add(new Invocation(SpiCall.ACCEPT, "accept", () -> engine.accept(listener, (a, d, c) -> io.sanswitch.spi.ConditionDecision.CF_ACCEPT, 0)));
        all.add(new Invocation(SpiCall.ACCEPT, "accept null condition", () -> engine.accept(listener, null, 0)));
        all.add(new Invocation(SpiCall.CONNECT, "connect", () -> engine.connect(toConnect, there, null)));
        all.add(new Invocation(SpiCall.CONNECT, "connect again", () -> engine.connect(connected, there, null)));
        all.add(new Invocation(SpiCall.CONNECT, "connect unresolved", () -> engine.connect(toConnectUnresolved,
                InetSocketAddress.createUnresolved("nowhere.invalid", 1), null)));
        all.add(new Invocation(SpiCall.EVENT_SELECT, "eventSelect", () -> engine.eventSelect(connected, new RecordingSwitch.Event(), NetworkEvents.FD_CONNECT)));
        all.add(new Invocation(SpiCall.EVENT_SELECT, "eventSelect bad mask", () -> engine.eventSelect(connected, new RecordingSwitch.Event(), 1 << 12)));
        all.add(new Invocation(SpiCall.ENUM_NETWORK_EVENTS, "enumNetworkEvents", () -> engine.enumNetworkEvents(connected, null)));
        all.add(new Invocation(SpiCall.GET_OVERLAPPED_RESULT, "getOverlappedResult fresh", () -> engine.getOverlappedResult(connected, Overlapped.polling(null), false)));
        all.add(new Invocation(SpiCall.GET_OVERLAPPED_RESULT, "getOverlappedResult null", () -> engine.getOverlappedResult(connected, null, false)));
        all.add(new Invocation(SpiCall.IOCTL, "ioctl extension", () -> engine.ioctl(connected, Winsock.SIO_GET_EXTENSION_FUNCTION_POINTER,
                guid(SanExtension.RDMA_READ.guid()), ByteBuffer.allocate(4))));
        all.add(new Invocation(SpiCall.IOCTL, "ioctl address list", () -> engine.ioctl(connected, Winsock.SIO_ADDRESS_LIST_QUERY, null, ByteBuffer.allocate(64))));
        all.add(new Invocation(SpiCall.IOCTL, "ioctl small out", () -> engine.ioctl(connected, Winsock.SIO_ADDRESS_LIST_QUERY, null, ByteBuffer.allocate(2))));
        all.add(new Invocation(SpiCall.IOCTL, "ioctl unknown", () -> engine.ioctl(connected, 0x12345, null, ByteBuffer.allocate(4))));
        all.add(new Invocation(SpiCall.IOCTL, "extension lookup", () -> engine.getExtensionFunction(connected, UUID.randomUUID())));
        all.add(new Invocation(SpiCall.GET_SOCK_OPT, "getSockOpt", () -> engine.getSockOpt(connected, Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY)));
        all.add(new Invocation(SpiCall.GET_SOCK_OPT, "getSockOpt bad level", () -> engine.getSockOpt(connected, 77, 1)));
        all.add(new Invocation(SpiCall.SET_SOCK_OPT, "setSockOpt", () -> engine.setSockOpt(connected, Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 1)));
        all.add(new Invocation(SpiCall.SET_SOCK_OPT, "setSockOpt read-only", () -> engine.setSockOpt(connected, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE, 1)));
        all.add(new Invocation(SpiCall.SEND, "send", () -> engine.send(connected, bufs, 0, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.SEND, "send flags", () -> engine.send(connected, bufs, 1, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.SEND, "send outside registration", () -> engine.send(connected,
                memory == null ? null : new WsaBuf[] {new WsaBuf(memory, 10, memory.length())}, 0, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.RECV, "recv", () -> engine.recv(connected, bufs, Overlapped.polling(null))));
        all.add(new Invocation(SpiCall.RECV, "recv on listener", () -> engine.recv(listener, bufs, Overlapped.polling(null))));
        all.add(new Invocation(SpiCall.REGISTER_MEMORY, "registerMemory", () -> engine.registerMemory(connected, ByteBuffer.allocate(8), Winsock.MEM_READ)));
        all.add(new Invocation(SpiCall.REGISTER_MEMORY, "registerMemory bad flags", () -> engine.registerMemory(connected, ByteBuffer.allocate(8), 9)));
        all.add(new Invocation(SpiCall.DEREGISTER_MEMORY, "deregisterMemory unknown", () -> engine.deregisterMemory(connected, null)));
        all.add(new Invocation(SpiCall.REGISTER_RDMA_MEMORY, "registerRdmaMemory", () -> engine.registerRdmaMemory(connected, ByteBuffer.allocate(8), Winsock.MEM_WRITE)));
        all.add(new Invocation(SpiCall.DEREGISTER_RDMA_MEMORY, "deregisterRdmaMemory unknown", () -> engine.deregisterRdmaMemory(connected, RdmaBufferDescriptor.of(new byte[] {9}))));
        all.add(new Invocation(SpiCall.RDMA_WRITE, "rdmaWrite", () -> engine.rdmaWrite(connected, bufs, descriptor, 0, 0, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.RDMA_WRITE, "rdmaWrite negative offset", () -> engine.rdmaWrite(connected, bufs, descriptor, -1, 0, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.RDMA_READ, "rdmaRead", () -> engine.rdmaRead(connected, bufs, descriptor, 0, 0, Overlapped.notifying(null))));
        all.add(new Invocation(SpiCall.MEMORY_REGISTRATION_CACHE_CALLBACK, "cache callback", () -> engine.memoryRegistrationCacheCallback(ByteBuffer.allocate(1))));
        all.add(new Invocation(SpiCall.CLOSE_SOCKET, "closeSocket", () -> engine.closeSocket(toClose)));
        all.add(new Invocation(SpiCall.CLOSE_SOCKET, "closeSocket foreign", () -> engine.closeSocket(() -> 1L)));
        return all;
    }

    /** Unbound sockets for bind, connect and close; one bound one for listen (second). */
    private Deque<SocketHandle> freshSockets() throws WsaException {
        Deque<SocketHandle> fresh = new ArrayDeque<>();
        for (int i = 0; i < 5; i++) {
            fresh.add(newSocket());
        }
        SocketHandle toListen = fresh.toArray(new SocketHandle[0])[1];
        engine.bind(toListen, LOCAL);
        return fresh;
    }

    private static ByteBuffer guid(UUID u) {
        return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).flip();
    }

    private void runAll(List<Invocation> calls, String scenario) {
        for (Invocation inv : calls) {
            try {
                inv.action.run();
            } catch (WsaException e) {
                seen.computeIfAbsent(inv.call, k -> EnumSet.noneOf(WsaError.class)).add(e.error());
                if (!inv.call.allows(e.error())) {
                    violations.add(scenario + ": " + inv.what + " failed with " + e.error() + ", not in " + inv.call.allowedErrors());
                }
            } catch (Throwable t) {
                violations.add(scenario + ": " + inv.what + " threw " + t);
            }
        }
    }

    @Test
    @Checks({
            "ERR-never-inprogress", "ERR-startupEx", "ERR-cleanup", "ERR-socket", "ERR-bind", "ERR-listen",
            "ERR-accept", "ERR-connect", "ERR-closeSocket", "ERR-eventSelect", "ERR-enumNetworkEvents",
            "ERR-getOverlappedResult", "ERR-ioctl", "ERR-getSockOpt", "ERR-setSockOpt", "ERR-recv", "ERR-send",
            "ERR-send-flags", "ERR-registerMemory", "ERR-deregisterMemory", "ERR-registerRdmaMemory",
            "ERR-deregisterRdmaMemory", "ERR-rdmaWrite", "ERR-rdmaRead", "ERR-cacheCallback", "ERR-completion"})
    void everyCallFailsOnlyWithTheErrorsItsSpecRowAllows() throws Exception {
        // 1. No startup at all.
        SocketHandle foreign = () -> 1L;
        runAll(everyCall(foreign, foreign, null, null), "not started");

        // 2. The backend failing every primitive with every error there is, and crashing.
        for (WsaError injected : WsaError.values()) {
            startup();
            SocketHandle connected = connectedSocket();
            MemoryHandle memory = register(connected, 64);
            RdmaBufferDescriptor descriptor = engine.registerRdmaMemory(connected, ByteBuffer.allocate(64), Winsock.MEM_READWRITE);
            SocketHandle listener = newSocket();
            engine.bind(listener, LOCAL);
            engine.listen(listener, 4);
            ((ScriptedTransport.ScriptedSocket) engine.socketFor(listener).transport()).arrive(REMOTE);
            Deque<SocketHandle> fresh = freshSockets();
            for (ScriptedTransport.Primitive p : ScriptedTransport.Primitive.values()) {
                transport.fail(p, injected);
            }
            runAll(everyCall(connected, listener, memory, descriptor, fresh), "backend fails with " + injected);
            for (ScriptedTransport.Primitive p : ScriptedTransport.Primitive.values()) {
                transport.fail(p, null);
            }
            // Transfers completing with any status are held to the completion list.
            for (int i = 0; i < 2; i++) {
                engine.recv(connected, new WsaBuf[] {WsaBuf.of(memory)}, Overlapped.polling(null));
            }
            for (PostedOperation op : transport.held()) {
                transport.events.operationFailed(op, injected, 0);
                PendingOperation p = (PendingOperation) op;
                WsaError status = p.overlapped().result().error();
                if (!SpiCall.COMPLETION.allows(status)) {
                    violations.add("completion status " + status + " for injected " + injected);
                }
            }
            cleanupHeldToItsList("after " + injected);
        }
        startup();
        SocketHandle connected = connectedSocket();
        MemoryHandle memory = register(connected, 64);
        SocketHandle listener = newSocket();
        engine.bind(listener, LOCAL);
        engine.listen(listener, 4);
        Deque<SocketHandle> fresh = freshSockets();
        transport.crash = true;
        runAll(everyCall(connected, listener, memory, RdmaBufferDescriptor.of(new byte[] {1}), fresh), "backend crashes");
        transport.crash = true;
        cleanupHeldToItsList("backend crashes in close");
        transport.crash = false;

        // 3. Stale descriptors after a restart.
        startup();
        SocketHandle stale = connectedSocket();
        MemoryHandle staleMemory = register(stale, 8);
        engine.cleanup();
        startup();
        runAll(everyCall(stale, stale, staleMemory, RdmaBufferDescriptor.of(new byte[] {1})), "stale descriptors");
        engine.cleanup();

        assertTrue(violations.isEmpty(), String.join("\n", violations));
        // The scenarios really produced failures for every call (the check was not vacuous).
        for (SpiCall call : SpiCall.values()) {
            if (call != SpiCall.STARTUP_EX && call != SpiCall.CLEANUP && call != SpiCall.COMPLETION) {
                assertFalse(seen.getOrDefault(call, Set.of()).isEmpty(), "no failure observed for " + call);
            }
        }
        assertTrue(seen.get(SpiCall.CLOSE_SOCKET).contains(WsaError.WSANOTINITIALISED));
    }

    private void cleanupHeldToItsList(String scenario) {
        try {
            engine.cleanup();
        } catch (WsaException e) {
            if (!SpiCall.CLEANUP.allows(e.error())) {
                violations.add(scenario + ": cleanup failed with " + e.error());
            }
        } catch (Throwable t) {
            violations.add(scenario + ": cleanup threw " + t);
        }
        assertEquals(LifecycleState.IDLE, engine.lifecycleState(), scenario);
    }

    @Test
    @Checks({"LC-no-einval", "ERR-cleanup"})
    void cleanupNeverReportsWsaEInval() {
        assertFalse(SpiCall.CLEANUP.allows(WsaError.WSAEINVAL));
        assertEquals(EnumSet.of(WsaError.WSANOTINITIALISED, WsaError.WSAENETDOWN), SpiCall.CLEANUP.allowedErrors());
    }

    @Test
    @Checks({"ERR-startupEx", "ST-failed"})
    void startupFailuresAreHeldToTheStartupList() throws Exception {
        for (WsaError injected : WsaError.values()) {
            transport.fail(ScriptedTransport.Primitive.OPEN, injected);
            try {
                startup();
                violations.add("startup succeeded although the transport failed with " + injected);
            } catch (WsaException e) {
                if (!SpiCall.STARTUP_EX.allows(e.error())) {
                    violations.add("startupEx failed with " + e.error());
                }
            }
        }
        assertTrue(violations.isEmpty(), String.join("\n", violations));
        assertEquals(0, engine.referenceCount());
    }
}
