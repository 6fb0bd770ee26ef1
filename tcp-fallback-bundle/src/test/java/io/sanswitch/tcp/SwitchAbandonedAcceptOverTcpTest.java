package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * docs/rules.md SW-abandoned-accept over the real TCP backend: connections the provider accepted
 * for a listener whose application gave up (a cancelled accept, then the listener closed without
 * taking them) are closed in the provider, and their peers see the end.
 */
@Timeout(60)
class SwitchAbandonedAcceptOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final ProviderEngine tcp = new ProviderEngine(new NioTransport(2, true));
    private final Switch sw = new Switch(SwitchSettings.withSubnets());

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    @Test
    @Checks("SW-abandoned-accept")
    void acceptedConnectionsNobodyTakesAreClosedInTheProviderWhenTheListenerCloses() throws Exception {
        sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
        int idle = tcp.openSockets();
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        int listening = tcp.openSockets();
        // The application asks for a connection, then changes its mind.
        CompletableFuture<SwitchSocket> given = listener.acceptAsync().toCompletableFuture();
        assertTrue(given.cancel(false));
        try (Socket first = new Socket(LOOPBACK, listener.localAddress().getPort());
                Socket second = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            // Positive signal that the provider accepted both for the switch.
            Eventually.until("two accepted provider sockets", () -> tcp.openSockets() == listening + 2);
            // ... and that the switch opened both connections, which then wait for an accept.
            Eventually.until("two connections open in the switch", () -> sw.statistics().connections() == 2);
            listener.close();
            Eventually.until("the provider sockets closed", () -> tcp.openSockets() == idle);
            assertPeerSeesTheEnd(first);
            assertPeerSeesTheEnd(second);
        }
        assertEquals(idle, tcp.openSockets(), "only the switch's own sockets are left");
    }

    private static void assertPeerSeesTheEnd(Socket peer) throws IOException {
        peer.setSoTimeout((int) Eventually.WAIT_SECONDS * 1000);
        InputStream in = peer.getInputStream();
        try {
            assertEquals(-1, in.read(), "the abandoned connection ended at the peer");
        } catch (java.net.SocketException reset) {
            // An abortive close (docs/rules.md SW-abandoned-accept allows the reset) ends it too.
        }
    }
}
