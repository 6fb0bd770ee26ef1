package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
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
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportCapabilities;

/**
 * The switch's connect sequencing against scripted providers (an RDMA-capable one named "ucx" and a
 * stream one named "tcp"): which provider is tried, when the switch falls back (docs/rules.md SW-certain), what it
 * remembers, and what a provider withdrawn mid-connect does; and connections and listeners pinned to
 * a named provider (no rule, no fallback, the RDMA port offset kept). The wire is not involved here: the real
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
        // Each provider's sockets are counted and read by position: without migration, whose resume ports are
        // provider sockets of their own (docs/rules.md SW-migrate-port, SW-migrate-back).
        sw = new Switch(MigrationOff.of(settings));
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx"));
        sw.bindProvider(tcpEngine, Map.of("sanswitch.transport", "tcp"));
        assertEquals(1, rdma.sockets.size(), "the switch probed the provider with one helper socket (docs/rules.md SW-start)");
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
    @Checks({"SW-subnet", "SW-start"})
    void aSanPeerIsReachedOverRdmaAtThePortOffset() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        SwitchSocket s = connect(SAN_PEER);
        assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
        assertEquals(2, rdma.sockets.size());
        assertEquals(1, tcp.sockets.size(), "only the helper socket on TCP");
    }

    @Test
    @Checks("SW-subnet")
    void aPeerOffTheSanSubnetsGoesOverTcpWithoutTouchingRdma() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8"));
        assertEquals(new ProviderChoice("tcp", Reason.NOT_ON_SAN_SUBNET, null), connect(SAN_PEER).choice());
        assertEquals(1, rdma.sockets.size());
    }

    @Test
    @Checks({"SW-fallback", "SW-connect-once"})
    void aTimedOutRdmaConnectFallsBackAndThePeerGoesStraightToTcpWhileRemembered() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withConnectTimeout(Duration.ofMillis(200)));
        rdma.connectAtOnce = false; // no FD_CONNECT ever: the switch's own timeout ends it (WSAETIMEDOUT)
        SwitchSocket first = connect(SAN_PEER);
        assertEquals(new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAETIMEDOUT), first.choice());
        assertEquals(2, rdma.sockets.size());
        SwitchSocket second = connect(SAN_PEER);
        assertEquals(new ProviderChoice("tcp", Reason.RECENT_RDMA_FAILURE, WsaError.WSAETIMEDOUT), second.choice());
        assertEquals(2, rdma.sockets.size(), "no second RDMA attempt while the failure is remembered");
        // Closed on the switch's close threads (docs/rules.md SW-close-off-io), maybe after the fallback.
        Eventually.until("the timed-out RDMA socket is closed (docs/rules.md SW-fallback)", () -> rdmaEngine.openSockets() == 0);
    }

    @ParameterizedTest
    @EnumSource(value = WsaError.class, names = {"WSAETIMEDOUT", "WSAENETUNREACH", "WSAENOBUFS", "WSAEADDRINUSE"})
    @Checks("SW-fallback")
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
    @Checks("SW-certain")
    void theThreeCertainFailuresFailTheConnectWithNoTcpAttempt(WsaError error) throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        rdma.fail(ScriptedTransport.Primitive.CONNECT, error);
        assertEquals(error, failure(SAN_PEER));
        assertEquals(1, tcp.sockets.size(), "docs/rules.md SW-certain: no TCP socket was even created");
        rdma.fail(ScriptedTransport.Primitive.CONNECT, null);
        assertEquals(Reason.SAN_SUBNET, connect(SAN_PEER).choice().reason(), "a refusal is not remembered");
    }

    @Test
    @Checks("SW-withdrawn")
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

    // ------------------------------------------------------------------ pinned to a provider

    private WsaError pinnedFailure(InetSocketAddress to, String provider) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> sw.connectAsync(to, provider).toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }

    @Test
    void aConnectPinnedToTcpGoesOverTcpEvenToASanPeer() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        SwitchSocket s = sw.connect(SAN_PEER, "tcp");
        assertEquals(new ProviderChoice("tcp", Reason.PINNED, null), s.choice());
        assertEquals(SAN_PEER, tcp.sockets.get(1).connectedTo, "TCP connects to the port asked for");
        assertEquals(1, rdma.sockets.size(), "RDMA not touched");
        assertEquals(1L, sw.statistics().connectsByReason().get("PINNED"));
    }

    @Test
    void aConnectPinnedToUcxIgnoresTheSubnetsAndKeepsTheRdmaPortOffset() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8").withPortOffset(7));
        SwitchSocket s = sw.connect(SAN_PEER, "ucx");
        assertEquals(new ProviderChoice("ucx", Reason.PINNED, null), s.choice());
        assertEquals(new InetSocketAddress(SAN_PEER.getAddress(), SAN_PEER.getPort() + 7), rdma.sockets.get(1).connectedTo,
                "an RDMA connect goes to port + rdmaPortOffset, pinned or not");
        assertEquals(1, tcp.sockets.size(), "only the helper socket on TCP");
    }

    @ParameterizedTest
    @EnumSource(value = WsaError.class, names = {"WSAETIMEDOUT", "WSAENETUNREACH", "WSAECONNREFUSED"})
    void aPinnedRdmaConnectNeverFallsBackAndLeavesNoFailureMemory(WsaError error) throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        rdma.fail(ScriptedTransport.Primitive.CONNECT, error);
        assertEquals(error, pinnedFailure(SAN_PEER, "ucx"), "the provider's own code");
        assertEquals(1, tcp.sockets.size(), "no TCP socket was created: a pinned connect never falls back");
        Eventually.until("the failed socket is closed (docs/rules.md SW-close-off-io: after the failure, maybe)",
                () -> rdmaEngine.openSockets() == 0);
        rdma.fail(ScriptedTransport.Primitive.CONNECT, null);
        assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), connect(SAN_PEER).choice(),
                "a pinned failure is not remembered for the switch's own choice");
    }

    @Test
    void anUnknownProviderIsNetworkDownForConnectAndListen() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        assertEquals(WsaError.WSAENETDOWN, pinnedFailure(SAN_PEER, "rdma"));
        WsaException sync = assertThrows(WsaException.class, () -> sw.connect(SAN_PEER, "rdma"));
        assertEquals(WsaError.WSAENETDOWN, sync.error());
        assertTrue(sync.getMessage().contains("no provider 'rdma' is running"), sync.getMessage());
        assertEquals(WsaError.WSAENETDOWN, assertThrows(WsaException.class,
                () -> sw.listen(new InetSocketAddress(SAN_PEER.getAddress(), 6000), 4, "rdma")).error());
    }

    @Test
    void aPinnedConnectWhoseProviderIsWithdrawnMidConnectFailsWithNetworkDownNotOverTcp() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withConnectTimeout(Duration.ofSeconds(20)));
        rdma.connectAtOnce = false;
        CompletableFuture<SwitchSocket> pending = sw.connectAsync(SAN_PEER, "ucx").toCompletableFuture();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (rdma.sockets.size() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        sw.unbindProvider(rdmaEngine); // what the provider's bundle stop does
        ExecutionException e = assertThrows(ExecutionException.class, () -> pending.get(5, TimeUnit.SECONDS));
        assertEquals(WsaError.WSAENETDOWN, assertInstanceOf(WsaException.class, e.getCause()).error());
        assertEquals(1, tcp.sockets.size(), "no TCP attempt");
        assertEquals(WsaError.WSAENETDOWN, pinnedFailure(SAN_PEER, "ucx"), "withdrawn: like an unknown provider");
    }

    @Test
    @Checks("SW-join")
    void aPinnedListenerListensOnItsProviderOnlyAtTheDerivedPortAndOnlyThatProviderJoinsLater() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8").withPortOffset(3));
        InetSocketAddress at = new InetSocketAddress(SAN_PEER.getAddress(), 6000);
        SwitchServerSocket overUcx = sw.listen(at, 4, "ucx");
        assertEquals(List.of("ucx"), overUcx.providers(), "off the SAN subnets, yet pinned: ucx listens");
        assertEquals(at, overUcx.localAddress(), "the address a pinned connect names");
        assertEquals(new InetSocketAddress(at.getAddress(), 6003), rdma.sockets.get(1).local, "port + rdmaPortOffset");
        assertEquals(1, tcp.sockets.size(), "no TCP listener");

        SwitchServerSocket overTcp = sw.listen(new InetSocketAddress(SAN_PEER.getAddress(), 6100), 4, "tcp");
        assertEquals(List.of("tcp"), overTcp.providers());
        sw.unbindProvider(rdmaEngine);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!overUcx.providers().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5); // the listener learns it on its own queue
        }
        assertEquals(List.of(), overUcx.providers(), "its provider left");
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx")); // the bundle started again
        assertEquals(List.of("ucx"), overUcx.providers(), "a provider of the pinned name joins");
        assertEquals(List.of("tcp"), overTcp.providers(), "another one does not");
        overUcx.close();
        overTcp.close();
    }

    @Test
    @Checks("SW-join")
    void aProviderWhoseListenPortIsInUseWhenItReturnsJoinsTheListenerOnceThePortIsFree() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        SwitchServerSocket server = sw.listen(new InetSocketAddress(SAN_PEER.getAddress(), 6200), 4);
        assertTrue(server.providers().contains("ucx"), server.providers().toString());
        sw.unbindProvider(rdmaEngine);
        awaitTrue(() -> !server.providers().contains("ucx"), "the listener learns that ucx left");

        // Its RDMA port (6201) is held by some other socket when the provider comes back.
        rdma.fail(ScriptedTransport.Primitive.BIND, WsaError.WSAEADDRINUSE);
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx"));
        assertEquals(List.of("tcp"), server.providers(), "the port is in use");
        int triesBefore = rdma.sockets.size(); // every try creates a socket, then binds it
        awaitTrue(() -> rdma.sockets.size() >= triesBefore + 2, "the switch tries the port again");
        rdma.fail(ScriptedTransport.Primitive.BIND, null); // the other socket let the port go
        awaitTrue(() -> server.providers().contains("ucx"), "ucx joins the listener once its port is free");
        server.close();
    }

    @Test
    @Checks("SW-join")
    void aProviderThatComesWhileTheListenerStillHoldsTheOneOfTheSameNameThatLeavesJoinsIt() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8").withPortOffset(3));
        SwitchServerSocket overUcx = sw.listen(new InetSocketAddress(SAN_PEER.getAddress(), 6300), 4, "ucx");
        assertEquals(List.of("ucx"), overUcx.providers());
        // An updated bundle's provider may come before the listener has dropped the one that left (it does
        // so on its own queue, after the final cleanup closed that socket): the listener still lists a
        // "ucx" when the new one joins. Here the old one has not even left yet, so the order is certain.
        ScriptedTransport next = new ScriptedTransport();
        sw.bindProvider(new ProviderEngine(next), Map.of("sanswitch.transport", "ucx"));
        assertEquals(2, next.sockets.size(), "the new provider listens for the listener (after its helper socket)");
        sw.unbindProvider(rdmaEngine);
        awaitTrue(() -> overUcx.providers().size() == 1, "the listener drops the provider that left");
        assertEquals(List.of("ucx"), overUcx.providers(), "and still listens over the new one");
        overUcx.close();
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within 20 s");
            }
            Thread.sleep(5);
        }
    }

    // ------------------------------------------------------------------ san:sockets' REASON column

    private static long switchHandleOf(ProviderEngine engine, String role) {
        return engine.sockets().stream().filter(s -> s.role().equals(role)).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no " + role + " socket in " + engine.sockets())).switchHandle();
    }

    @Test
    void theSwitchTellsSanSocketsWhyEachOfItsSocketsIsOnItsProvider() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withFailureMemory(Duration.ofSeconds(30)));
        io.sanswitch.core.switcher.view.SocketReasons reasons = sw; // what the component registers for san:sockets
        connect(SAN_PEER);
        assertEquals("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet",
                reasons.reasonFor("ucx", switchHandleOf(rdmaEngine, "CONNECTED")));

        rdma.fail(ScriptedTransport.Primitive.CONNECT, WsaError.WSAETIMEDOUT);
        connect(SAN_PEER);
        assertEquals("FELL_BACK: the RDMA connect failed with WSAETIMEDOUT (10060)",
                reasons.reasonFor("tcp", switchHandleOf(tcpEngine, "CONNECTED")));
        connect(SAN_PEER);
        assertEquals("RECENT_RDMA_FAILURE: RDMA failed recently for this peer: WSAETIMEDOUT (10060)",
                reasons.reasonFor("tcp", switchHandleOf(tcpEngine, "CONNECTED")));
        sw.connect(SAN_PEER, "tcp");
        assertEquals("PINNED: the application asked for tcp", reasons.reasonFor("tcp", switchHandleOf(tcpEngine, "CONNECTED")));

        sw.listen(new InetSocketAddress(SAN_PEER.getAddress(), 6000), 4);
        assertEquals("LISTENING: switch listener 127.0.0.1:6000", reasons.reasonFor("tcp", switchHandleOf(tcpEngine,
                "LISTENING")));
        assertEquals("LISTENING: switch listener 127.0.0.1:6000 (RDMA port +1)", reasons.reasonFor("ucx",
                switchHandleOf(rdmaEngine, "LISTENING")));
        sw.unbindProvider(rdmaEngine);
        connect(SAN_PEER);
        assertEquals("RDMA_PROVIDER_DOWN: no RDMA provider running",
                reasons.reasonFor("tcp", switchHandleOf(tcpEngine, "CONNECTED")));

        assertEquals(null, reasons.reasonFor("tcp", 999_999), "a handle the switch does not know");
        assertEquals(null, reasons.reasonFor("rdma", 1), "a provider the switch does not know");
    }

    @Test
    void withNoProviderAtAllConnectAndListenSayTheNetworkIsDown() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8"));
        assertEquals(WsaError.WSAENETDOWN, failure(SAN_PEER));
        WsaException e = assertThrows(WsaException.class, () -> sw.listen(SAN_PEER, 1));
        assertEquals(WsaError.WSAENETDOWN, e.error());
    }
}
