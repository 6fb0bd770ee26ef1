package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportCapabilities;

/**
 * The switch's connect sequencing against scripted providers (an RDMA-capable one named "ucx" and a
 * stream one named "tcp"): which provider is tried, when the switch falls back (spec 6.2), what it
 * remembers, and what a provider withdrawn mid-connect does. The wire is not involved here: the real
 * backends have their own switch tests.
 */
@Timeout(30)
class SwitchConnectSequencingTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ScriptedTransport tcp = new ScriptedTransport(TransportCapabilities.streamOnly());
    private final ProviderEngine rdmaEngine = new ProviderEngine(rdma);
    private final ProviderEngine tcpEngine = new ProviderEngine(tcp);
    private Switch sw;

    private void start(SwitchSettings settings) {
        sw = new Switch(settings);
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx"));
        sw.bindProvider(tcpEngine, Map.of("sanswitch.transport", "tcp"));
        assertEquals(1, rdma.sockets.size(), "the switch probed the provider with one helper socket (spec 1.3)");
    }

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
        assertTrue(!rdmaEngine.isRunning() && !tcpEngine.isRunning(), "every startup matched by a cleanup");
    }

    private SwitchSocket connect(InetSocketAddress to) throws Exception {
        return sw.connectAsync(to).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private WsaError failure(InetSocketAddress to) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(to));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }

    @Test
    void aSanPeerIsReachedOverRdmaAtThePortOffset() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        SwitchSocket s = connect(SAN_PEER);
        assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
        assertEquals(2, rdma.sockets.size());
        assertEquals(1, tcp.sockets.size(), "only the helper socket on TCP");
    }

    @Test
    void aPeerOffTheSanSubnetsGoesOverTcpWithoutTouchingRdma() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8"));
        assertEquals(new ProviderChoice("tcp", Reason.NOT_ON_SAN_SUBNET, null), connect(SAN_PEER).choice());
        assertEquals(1, rdma.sockets.size());
    }

    @Test
    void aTimedOutRdmaConnectFallsBackAndThePeerGoesStraightToTcpWhileRemembered() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withConnectTimeout(Duration.ofMillis(200)));
        rdma.connectAtOnce = false; // no FD_CONNECT ever: the switch's own timeout ends it (WSAETIMEDOUT)
        SwitchSocket first = connect(SAN_PEER);
        assertEquals(new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAETIMEDOUT), first.choice());
        assertEquals(2, rdma.sockets.size());
        SwitchSocket second = connect(SAN_PEER);
        assertEquals(new ProviderChoice("tcp", Reason.RECENT_RDMA_FAILURE, WsaError.WSAETIMEDOUT), second.choice());
        assertEquals(2, rdma.sockets.size(), "no second RDMA attempt while the failure is remembered");
        assertEquals(0, rdmaEngine.openSockets(), "the timed-out RDMA socket was closed (spec 6.9)");
    }

    @ParameterizedTest
    @EnumSource(value = WsaError.class, names = {"WSAETIMEDOUT", "WSAENETUNREACH", "WSAENOBUFS", "WSAEADDRINUSE"})
    void rdmaConnectFailuresThatAllowTheFallbackGoToTcp(WsaError error) throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withFailureMemory(Duration.ZERO));
        rdma.fail(ScriptedTransport.Primitive.CONNECT, error);
        assertEquals(new ProviderChoice("tcp", Reason.FELL_BACK, error), connect(SAN_PEER).choice());
        // A memory of 0 s: the next connect tries RDMA again.
        assertEquals(Reason.FELL_BACK, connect(SAN_PEER).choice().reason());
        assertEquals(3, rdma.sockets.size());
    }

    @ParameterizedTest
    @EnumSource(value = WsaError.class, names = {"WSAECONNREFUSED", "WSAECONNRESET", "WSAEHOSTUNREACH"})
    void theThreeCertainFailuresFailTheConnectWithNoTcpAttempt(WsaError error) throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        rdma.fail(ScriptedTransport.Primitive.CONNECT, error);
        assertEquals(error, failure(SAN_PEER));
        assertEquals(1, tcp.sockets.size(), "spec 6.2: no TCP socket was even created");
        rdma.fail(ScriptedTransport.Primitive.CONNECT, null);
        assertEquals(Reason.SAN_SUBNET, connect(SAN_PEER).choice().reason(), "a refusal is not remembered");
    }

    @Test
    void anRdmaProviderWithdrawnMidConnectSendsTheConnectToTcpAtOnce() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withConnectTimeout(Duration.ofSeconds(20)));
        rdma.connectAtOnce = false;
        CompletableFuture<SwitchSocket> pending = sw.connectAsync(SAN_PEER).toCompletableFuture();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (rdma.sockets.size() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        sw.unbindProvider(rdmaEngine); // what the provider's bundle stop does
        SwitchSocket s = pending.get(5, TimeUnit.SECONDS);
        assertEquals(new ProviderChoice("tcp", Reason.RDMA_PROVIDER_DOWN, null), s.choice());
        assertEquals(new ProviderChoice("tcp", Reason.RDMA_PROVIDER_DOWN, null), connect(SAN_PEER).choice());
        assertEquals(0, rdmaEngine.openSockets(), "the withdrawn provider's final cleanup ran");
        assertEquals(0, sw.statistics().eventsDuringCleanup());
    }

    @Test
    void withNoProviderAtAllConnectAndListenSayTheNetworkIsDown() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8"));
        assertEquals(WsaError.WSAENETDOWN, failure(SAN_PEER));
        WsaException e = assertThrows(WsaException.class, () -> sw.listen(SAN_PEER, 1));
        assertEquals(WsaError.WSAENETDOWN, e.error());
    }
}
