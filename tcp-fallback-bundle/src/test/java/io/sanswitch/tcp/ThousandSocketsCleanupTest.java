package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;

/** 1,000 TCP connections with pending operations, ended by one final cleanup. */
class ThousandSocketsCleanupTest extends KitTestBase {
    static final int CONNECTIONS = 1_000;

    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }

    @Test
    @io.sanswitch.testing.Checks({"LC-b", "LC-c", "SK-peer-reset", "LC-d"})
    void oneFinalCleanupAbortsEveryOperationOn1000SocketsAndResetsEveryPeer() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 128, accepts);
        List<Overlapped> pending = new ArrayList<>();
        List<Overlapped> peers = new ArrayList<>();
        for (int i = 0; i < CONNECTIONS; i++) {
            KitProvider.Pair pair = a.connectTo(b, listener, accepts, at);
            SocketHandle c = pair.client();
            SocketHandle s = pair.server();
            pending.add(a.recv(c, 64, i % 2 == 0 ? Overlapped.Mode.NOTIFY : Overlapped.Mode.POLL).overlapped());
            peers.add(b.recv(s, 64, Overlapped.Mode.POLL).overlapped());
        }
        assertEquals(CONNECTIONS, a.engine.openSockets());
        assertEquals(CONNECTIONS, a.engine.pendingOperations());

        long start = System.nanoTime();
        a.engine.cleanup();
        long micros = (System.nanoTime() - start) / 1_000;
        System.out.printf("final cleanup of %d sockets with %d pending operations: %d µs%n", CONNECTIONS,
                pending.size(), micros);

        for (Overlapped ov : pending) {
            a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
        }
        for (Overlapped ov : peers) {
            assertEquals(WsaError.WSAECONNRESET, KitProvider.await(ov).error());
        }
        a.assertNoSocketLeft(listener);
        assertEquals(0, ((NioTransport) a.transport).openSockets());
    }
}
