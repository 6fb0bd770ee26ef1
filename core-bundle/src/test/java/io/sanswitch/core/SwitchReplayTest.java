package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SocketSetup;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.TransportCapabilities;

/**
 * docs/rules.md SW-replay against scripted providers (an RDMA one named "ucx", a stream one named "tcp"): the
 * application's bind and options reach the new provider socket before its connect, in the order set; a provider
 * that refuses any of it sends the connection to TCP with the same setup ({@code SETUP_REFUSED}); options set later
 * go to the socket carrying the connection. The real TCP backend's side is in tcp-fallback-bundle's
 * {@code SwitchReplayOverTcpTest}.
 */
@Timeout(30)
class SwitchReplayTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(LOOPBACK, 5000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress(LOOPBACK, 41_234);

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ScriptedTransport tcp = new ScriptedTransport(TransportCapabilities.streamOnly());
    private final ProviderEngine rdmaEngine = new ProviderEngine(rdma);
    private final ProviderEngine tcpEngine = new ProviderEngine(tcp);
    private Switch sw;

    private void start(String sanSubnets) {
        // Each provider's sockets are counted and read by position: without migration, whose resume ports are
        // provider sockets of their own (docs/rules.md SW-migrate-port, SW-migrate-back).
        sw = new Switch(MigrationOff.withSubnets(sanSubnets));
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx"));
        sw.bindProvider(tcpEngine, Map.of("sanswitch.transport", "tcp"));
    }

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
        assertTrue(!rdmaEngine.isRunning() && !tcpEngine.isRunning(), "every startup matched by a cleanup");
    }

    /** Receive buffer, then no-delay, then send buffer: not the api's order, so the order seen is the order set. */
    private static SocketSetup setup() {
        return new SocketSetup()
                .setOption(SanSocketOption.SO_RCVBUF, 4096)
                .bind(LOCAL)
                .setOption(SanSocketOption.TCP_NODELAY, true)
                .setOption(SanSocketOption.SO_SNDBUF, 8192);
    }

    /** What {@link #setup()} must look like on a provider socket that connected to {@code to}. */
    private static List<String> replayed(InetSocketAddress to) {
        return List.of("bind " + LOCAL, "option 0xffff/0x1002=4096", "option 0x6/0x1=1", "option 0xffff/0x1001=8192",
                "connect " + to);
    }

    private SwitchSocket connect(String pinned, SocketSetup setup) throws Exception {
        return sw.connectAsync(SAN_PEER, pinned, setup).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private WsaException failure(String pinned, SocketSetup setup) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(pinned, setup));
        return assertInstanceOf(WsaException.class, e.getCause());
    }

    @Test
    @Checks("SW-replay")
    void theBindAndTheOptionsReachTheRdmaSocketInTheOrderSetBeforeItsConnect() throws Exception {
        start("127.0.0.0/8");
        SwitchSocket s = connect(null, setup());
        assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
        InetSocketAddress rdmaPort = new InetSocketAddress(LOOPBACK, SAN_PEER.getPort() + 1);
        assertEquals(replayed(rdmaPort), rdma.sockets.get(1).steps);
        assertEquals(4096, s.getOption(SanSocketOption.SO_RCVBUF), "read back through the provider socket");
        assertEquals(true, s.getOption(SanSocketOption.TCP_NODELAY));
        assertEquals(LOCAL, s.localAddress(), "the bound address is the connection's local address");
        assertEquals(1, tcp.sockets.size(), "only the helper socket on TCP");
    }

    @Test
    @Checks("SW-replay")
    void anRdmaProviderThatRefusesAnOptionSendsTheConnectionToTcpWithTheSameSetup() throws Exception {
        start("127.0.0.0/8");
        rdma.fail(ScriptedTransport.Primitive.SET_OPTION, WsaError.WSAENOPROTOOPT);
        SwitchSocket s = connect(null, setup());
        assertEquals(new ProviderChoice("tcp", Reason.SETUP_REFUSED, WsaError.WSAENOPROTOOPT), s.choice());
        assertEquals(List.of("bind " + LOCAL), rdma.sockets.get(1).steps, "the refused option ended the RDMA attempt");
        assertEquals(replayed(SAN_PEER), tcp.sockets.get(1).steps, "the same bind and options on the TCP socket");
        // Closed on the switch's close threads (docs/rules.md SW-close-off-io), maybe after the connect over TCP.
        Eventually.until("the refused RDMA socket is closed", () -> rdmaEngine.openSockets() == 0);
        assertEquals(1L, sw.statistics().connectsByReason().get("SETUP_REFUSED"));
        long handle = tcpEngine.sockets().stream().filter(x -> x.role().equals("CONNECTED")).findFirst()
                .orElseThrow().switchHandle();
        assertEquals("SETUP_REFUSED: the RDMA provider refused the application's bind or options with WSAENOPROTOOPT (10042)",
                sw.reasonFor("tcp", handle), "san:sockets' reason");
        // Not remembered for the peer: without those options the next connect is over RDMA again.
        assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), connect(null, null).choice());
    }

    @Test
    @Checks("SW-replay")
    void anRdmaProviderThatRefusesTheBindSendsTheConnectionToTcp() throws Exception {
        start("127.0.0.0/8");
        rdma.fail(ScriptedTransport.Primitive.BIND, WsaError.WSAEADDRINUSE);
        SwitchSocket s = connect(null, setup());
        assertEquals(new ProviderChoice("tcp", Reason.SETUP_REFUSED, WsaError.WSAEADDRINUSE), s.choice());
        assertEquals(List.of(), rdma.sockets.get(1).steps);
        assertEquals(replayed(SAN_PEER), tcp.sockets.get(1).steps);
    }

    @Test
    @Checks("SW-replay")
    void aRefusalOnTcpOrOnAPinnedProviderFailsTheConnectNamingTheOption() throws Exception {
        start("10.0.0.0/8");
        tcp.fail(ScriptedTransport.Primitive.SET_OPTION, WsaError.WSAENOPROTOOPT);
        WsaException overTcp = failure(null, setup());
        assertEquals(WsaError.WSAENOPROTOOPT, overTcp.error());
        assertTrue(overTcp.getMessage().contains("SO_RCVBUF = 4096"), overTcp.getMessage());
        Eventually.until("the refused socket is closed (docs/rules.md SW-close-off-io: after the failure, maybe)",
                () -> tcpEngine.openSockets() == 0);

        rdma.fail(ScriptedTransport.Primitive.SET_OPTION, WsaError.WSAENOPROTOOPT);
        WsaException pinned = failure("ucx", setup());
        assertEquals(WsaError.WSAENOPROTOOPT, pinned.error(), "a pinned connect never falls back");
        assertEquals(2, tcp.sockets.size(), "no TCP attempt for the pinned connect");
    }

    @Test
    @Checks("SW-replay")
    void optionsSetAfterTheConnectGoToTheSocketCarryingTheConnection() throws Exception {
        start("127.0.0.0/8");
        rdma.fail(ScriptedTransport.Primitive.SET_OPTION, WsaError.WSAENOPROTOOPT);
        SwitchSocket s = connect(null, new SocketSetup().setOption(SanSocketOption.TCP_NODELAY, true));
        assertEquals("tcp", s.provider());
        s.setOption(SanSocketOption.TCP_NODELAY, false);
        s.setOption(SanSocketOption.SO_SNDBUF, 65536);
        assertEquals(List.of("option 0x6/0x1=1", "connect " + SAN_PEER, "option 0x6/0x1=0", "option 0xffff/0x1001=65536"),
                tcp.sockets.get(1).steps);
        assertEquals(false, s.getOption(SanSocketOption.TCP_NODELAY));
        s.close();
        assertEquals(WsaError.WSAENOTSOCK, assertThrows(WsaException.class,
                () -> s.setOption(SanSocketOption.TCP_NODELAY, true)).error());
    }

    @Test
    @Checks("SW-replay")
    @SuppressWarnings({"unchecked", "rawtypes"})
    void everyValueFromTheApplicationIsChecked() throws Exception {
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> new SocketSetup().setOption(SanSocketOption.SO_RCVBUF, -1));
        assertTrue(negative.getMessage().contains("SO_RCVBUF") && negative.getMessage().contains("-1"), negative.getMessage());
        SanSocketOption raw = SanSocketOption.SO_SNDBUF;
        IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
                () -> new SocketSetup().setOption(raw, "big"));
        assertTrue(wrongType.getMessage().contains("big"), wrongType.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SocketSetup().setOption(SanSocketOption.TCP_NODELAY, null));
        assertThrows(IllegalArgumentException.class,
                () -> new SocketSetup().bind(InetSocketAddress.createUnresolved("localhost", 1)));

        start("10.0.0.0/8");
        WsaException family = failure(null, new SocketSetup().bind(new InetSocketAddress(InetAddress.getByName("::1"), 0)));
        assertEquals(WsaError.WSAEINVAL, family.error());
        assertEquals(1, tcp.sockets.size(), "refused before any provider socket was created");

        SwitchSocket s = connect(null, null);
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> s.setOption(SanSocketOption.SO_SNDBUF, 0));
        assertTrue(zero.getMessage().contains("SO_SNDBUF") && zero.getMessage().contains("0"), zero.getMessage());
        assertEquals(List.of("connect " + SAN_PEER), tcp.sockets.get(1).steps, "nothing refused reached the provider");
    }
}
