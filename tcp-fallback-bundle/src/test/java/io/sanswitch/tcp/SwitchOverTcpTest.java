package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.conformance.Ports;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The switch over the real TCP backend: plain TCP on the wire (interoperates with java.net sockets
 * both ways, docs/architecture.md), stream semantics with -1 at the end, the provider choice reported, and bad
 * input answered with WsaExceptions.
 */
@Timeout(60)
class SwitchOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private ProviderEngine tcp;
    private Switch sw;
    /** The switch's own provider sockets, no connection's: its resume port (migrate on, docs/rules.md SW-migrate-port). */
    private int ownSockets;

    private void start(SwitchSettings settings) {
        tcp = new ProviderEngine(new NioTransport(2, true));
        sw = new Switch(settings);
        sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
        ownSockets = sw.statistics().totalProviderSockets();
        assertEquals(sw.resumePort() == 0 ? 0 : 1, ownSockets, "no socket but the resume port before any connection");
    }

    @BeforeEach
    void noSanSubnets() {
        start(SwitchSettings.withSubnets());
    }

    @AfterEach
    void stop() {
        sw.deactivate();
        assertFalse(tcp.isRunning(), "the switch matched its startup");
        assertEquals(0, Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("sanswitch-switch-")).count(), "switch threads left");
    }

    @Test
    @io.sanswitch.testing.Checks("SW-subnet")
    void bytesReachAPlainJavaServerUnframedAndTheReplyComesBack() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            assertEquals("tcp", s.provider());
            assertEquals(ProviderChoice.Reason.NOT_ON_SAN_SUBNET, s.choice().reason());
            try (Socket peer = server.accept()) {
                byte[] data = new byte[300_000];
                new Random(3).nextBytes(data);
                s.outputStream().write(data);
                byte[] got = new byte[data.length];
                new DataInputStream(peer.getInputStream()).readFully(got);
                assertArrayEquals(data, got, "the wire carries exactly the application's bytes");
                peer.getOutputStream().write("pong".getBytes());
                byte[] reply = new DataInputStream(s.inputStream()).readNBytes(4);
                assertArrayEquals("pong".getBytes(), reply);
                peer.close();
                assertEquals(-1, s.inputStream().read(), "the peer's close is the end of the stream");
            }
            s.close();
        }
    }

    @Test
    void aPlainJavaClientIsAcceptedAndItsBytesArriveAsSent() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        assertEquals(java.util.List.of("tcp"), listener.providers());
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            assertEquals(ProviderChoice.Reason.ACCEPTED, s.choice().reason());
            client.getOutputStream().write("hello switch".getBytes());
            byte[] got = new DataInputStream(s.inputStream()).readNBytes(12);
            assertArrayEquals("hello switch".getBytes(), got);
            s.send(ByteBuffer.wrap("bye".getBytes())).toCompletableFuture().get(10, TimeUnit.SECONDS);
            s.close();
            InputStream in = client.getInputStream();
            assertArrayEquals("bye".getBytes(), in.readNBytes(3));
            assertEquals(-1, in.read(), "graceful close after the last byte");
        }
        listener.close();
        WsaException closed = assertThrows(WsaException.class, listener::accept);
        assertEquals(WsaError.WSAENOTSOCK, closed.error());
    }

    @Test
    @io.sanswitch.testing.Checks("SW-release")
    void switchToSwitchAsyncEchoKeepsOrderAndEndsWithMinusOne() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        SwitchSocket server = accepted.get(10, TimeUnit.SECONDS);
        Random random = new Random(5);
        OutputStream out = client.outputStream();
        DataInputStream in = new DataInputStream(server.inputStream());
        for (int size : new int[] {1, 7, 4096, 65_536, 1 << 20}) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            out.write(data);
            byte[] got = new byte[size];
            in.readFully(got);
            assertArrayEquals(data, got, size + " bytes");
        }
        client.close();
        assertEquals(-1, server.receive(ByteBuffer.allocate(8)).toCompletableFuture().get(10, TimeUnit.SECONDS));
        server.close();
        ExecutionException after = assertThrows(ExecutionException.class,
                () -> server.send(ByteBuffer.allocate(1)).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertEquals(WsaError.WSAENOTSOCK, assertInstanceOf(WsaException.class, after.getCause()).error());
        listener.close();
        eventually(() -> sw.statistics().connections() == 0 && sw.statistics().totalProviderSockets() == ownSockets);
        assertEquals(0, sw.statistics().memoryRegistrations(), "registrations die with their sockets");
    }

    @Test
    @io.sanswitch.testing.Checks("SW-subnet")
    void aSanPeerWithNoRdmaProviderGoesOverTcpAndSaysWhy() throws Exception {
        sw.deactivate();
        tcp = null;
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            assertEquals(new ProviderChoice("tcp", ProviderChoice.Reason.RDMA_PROVIDER_DOWN, null), s.choice());
            s.abort();
        }
    }

    @Test
    void aListenerAndAConnectPinnedToTcpMeetAndEchoWhateverTheSubnets() throws Exception {
        sw.deactivate();
        start(SwitchSettings.withSubnets("127.0.0.0/8")); // a SAN peer, yet the application names tcp
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4, "tcp");
        assertEquals(java.util.List.of("tcp"), listener.providers());
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress(), "tcp");
        SwitchSocket server = accepted.get(10, TimeUnit.SECONDS);
        assertEquals(new ProviderChoice("tcp", ProviderChoice.Reason.PINNED, null), client.choice());
        assertEquals(ProviderChoice.Reason.ACCEPTED, server.choice().reason());
        client.outputStream().write("pinned".getBytes());
        assertArrayEquals("pinned".getBytes(), new DataInputStream(server.inputStream()).readNBytes(6));
        WsaException unknown = assertThrows(WsaException.class, () -> sw.connect(listener.localAddress(), "ucx"));
        assertEquals(WsaError.WSAENETDOWN, unknown.error(), "no ucx provider runs here");
        client.abort();
        server.abort();
        listener.close();
    }

    @Test
    void badInputIsAWsaExceptionNeverANullPointerException() throws Exception {
        assertEquals(WsaError.WSAEFAULT, assertThrows(WsaException.class, () -> sw.connect(null)).error());
        assertEquals(WsaError.WSAEFAULT, assertThrows(WsaException.class,
                () -> sw.connect(InetSocketAddress.createUnresolved("nowhere", 1))).error());
        assertEquals(WsaError.WSAEINVAL, assertThrows(WsaException.class,
                () -> sw.listen(new InetSocketAddress(LOOPBACK, 0), 0)).error());
        assertEquals(WsaError.WSAEFAULT, assertThrows(WsaException.class, () -> sw.listen(null, 1)).error());
        // Below the ephemeral range: a port nobody's outgoing connection (not even this one's) takes.
        int nobody = Ports.free(LOOPBACK);
        WsaException refused = assertThrows(WsaException.class, () -> sw.connect(new InetSocketAddress(LOOPBACK, nobody)));
        assertTrue(refused.error() == WsaError.WSAECONNREFUSED || refused.error() == WsaError.WSAECONNRESET,
                refused.toString());
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 1);
        SwitchSocket s = sw.connect(listener.localAddress());
        ExecutionException nullBuffer = assertThrows(ExecutionException.class,
                () -> s.send(null).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertEquals(WsaError.WSAEFAULT, assertInstanceOf(WsaException.class, nullBuffer.getCause()).error());
        s.abort();
        listener.close();
    }

    private static void eventually(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met in 10 s");
            Thread.sleep(10);
        }
    }
}
