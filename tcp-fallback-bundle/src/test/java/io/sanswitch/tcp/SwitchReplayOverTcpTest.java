package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SocketSetup;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * docs/rules.md SW-replay over the real TCP backend: the application's bind decides the address and port the peer
 * sees, and its options are in force on the kernel socket (read back through the provider socket).
 */
@Timeout(60)
class SwitchReplayOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private ProviderEngine tcp;
    private Switch sw;
    /** The switch's own provider sockets, no connection's: its resume port (migrate on, docs/rules.md SW-migrate-port). */
    private int ownSockets;

    @BeforeEach
    void start() {
        tcp = new ProviderEngine(new NioTransport(2, true)); // TCP_NODELAY on by default: the replay turns it off
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
        ownSockets = tcp.openSockets();
        assertEquals(sw.resumePort() == 0 ? 0 : 1, ownSockets, "no socket but the resume port before any connection");
    }

    @AfterEach
    void stop() {
        sw.deactivate();
        assertFalse(tcp.isRunning(), "the switch matched its startup");
    }

    /** A port free on 127.0.0.2 a moment ago (the kernel picks it; the test binds it at once). */
    private static int freePort(InetAddress at) throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, at)) {
            return probe.getLocalPort();
        }
    }

    @Test
    @Checks("SW-replay")
    void thePeerSeesTheBoundAddressAndPort() throws Exception {
        InetAddress second = InetAddress.getByName("127.0.0.2"); // not what the kernel would pick for 127.0.0.1
        InetSocketAddress local = new InetSocketAddress(second, freePort(second));
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()), null,
                    new SocketSetup().bind(local));
            try (Socket peer = server.accept()) {
                assertEquals(local, peer.getRemoteSocketAddress(), "the peer sees the application's bind");
                assertEquals(local, s.localAddress());
            }
            s.close();
        }
    }

    @Test
    @Checks("SW-replay")
    void theOptionsAreInForceOnTheKernelSocket() throws Exception {
        int receive = 96 * 1024;
        int send = 80 * 1024;
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()), null, new SocketSetup()
                    .setOption(SanSocketOption.TCP_NODELAY, false)
                    .setOption(SanSocketOption.SO_RCVBUF, receive)
                    .setOption(SanSocketOption.SO_SNDBUF, send));
            try (Socket peer = server.accept()) {
                assertEquals(false, s.getOption(SanSocketOption.TCP_NODELAY), "the backend's default is on");
                // Linux doubles a requested buffer size for its bookkeeping and caps it at its maximum; at least the
                // size asked for, or the system's cap, shows the request reached the kernel socket.
                assertTrue(s.getOption(SanSocketOption.SO_RCVBUF) >= Math.min(receive, systemCap("rmem_max")),
                        "SO_RCVBUF " + s.getOption(SanSocketOption.SO_RCVBUF));
                assertTrue(s.getOption(SanSocketOption.SO_SNDBUF) >= Math.min(send, systemCap("wmem_max")),
                        "SO_SNDBUF " + s.getOption(SanSocketOption.SO_SNDBUF));
                s.setOption(SanSocketOption.TCP_NODELAY, true);
                assertEquals(true, s.getOption(SanSocketOption.TCP_NODELAY), "set after the connect");
            }
            s.close();
        }
    }

    private static int systemCap(String name) throws Exception {
        java.nio.file.Path p = java.nio.file.Path.of("/proc/sys/net/core", name);
        return java.nio.file.Files.exists(p) ? Integer.parseInt(java.nio.file.Files.readString(p).trim()) : Integer.MAX_VALUE;
    }

    @Test
    @Checks("SW-replay")
    void aBufferSizeTheBackendRefusesFailsTheConnectAndALaterSetNamingTheValue() throws Exception {
        int huge = 1 << 30; // above the backend's bound (TcpSettings.MAX_BUFFER_BYTES), checked before the kernel
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            InetSocketAddress to = new InetSocketAddress(LOOPBACK, server.getLocalPort());
            WsaException refused = assertThrows(WsaException.class,
                    () -> sw.connect(to, null, new SocketSetup().setOption(SanSocketOption.SO_RCVBUF, huge)));
            assertEquals(WsaError.WSAEINVAL, refused.error());
            assertTrue(refused.getMessage().contains("SO_RCVBUF = " + huge), refused.getMessage());
            // docs/rules.md SW-close-off-io: closed on the switch's close threads, after the refusal maybe.
            Eventually.until("the refused provider socket is closed", () -> tcp.openSockets() == ownSockets);

            SwitchSocket s = sw.connect(to, null, null);
            try (Socket peer = server.accept()) {
                WsaException later = assertThrows(WsaException.class, () -> s.setOption(SanSocketOption.SO_SNDBUF, huge));
                assertEquals(WsaError.WSAEINVAL, later.error());
                assertTrue(later.getMessage().contains(String.valueOf(huge)), later.getMessage());
            }
            s.close();
        }
    }
}
