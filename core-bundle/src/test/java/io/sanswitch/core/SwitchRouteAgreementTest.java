package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.transport.TransportCapabilities;

/**
 * {@code san:route}'s answer ({@link SwitchView#routeTo}) against what a real connect through the
 * same switch then does, for each reason: SAN peer, peer off the SAN, an RDMA failure remembered,
 * the RDMA provider down, no TCP provider. One rule in one place ({@code Route.decide}): they agree.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SwitchRouteAgreementTest {
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ScriptedTransport tcp = new ScriptedTransport(TransportCapabilities.streamOnly());
    private final ProviderEngine rdmaEngine = new ProviderEngine(rdma);
    private final ProviderEngine tcpEngine = new ProviderEngine(tcp);
    private Switch sw;

    private void start(SwitchSettings settings) {
        sw = new Switch(settings);
        sw.bindProvider(rdmaEngine, Map.of("sanswitch.transport", "ucx"));
        sw.bindProvider(tcpEngine, Map.of("sanswitch.transport", "tcp"));
    }

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
    }

    /** The route asked first, then the connect: provider and reason the same. */
    private SwitchView.RouteAnswer agrees(InetSocketAddress peer) throws Exception {
        SwitchView.RouteAnswer route = sw.routeTo(peer);
        SwitchSocket s = sw.connectAsync(peer).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(s.choice().provider() + " " + s.choice().reason(), route.provider() + " " + route.reason(),
                "san:route said " + route);
        s.abort();
        return route;
    }

    @Test
    void aSanPeerGoesToTheRdmaProviderAtItsPortPlusTheOffset() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withPortOffset(7));
        SwitchView.RouteAnswer r = agrees(PEER);
        assertEquals("SAN_SUBNET", r.reason());
        assertEquals(new InetSocketAddress(PEER.getAddress(), 5007), r.target());
        // The one RDMA socket that connected (the others: the switch's probe, its RDMA resume port).
        assertEquals(List.of(r.target()), rdma.sockets.stream().filter(x -> x.connectedTo != null)
                .map(x -> x.connectedTo).toList(), "the connect went where san:route said");
    }

    @Test
    void aPeerOffTheSanGoesToTcp() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8"));
        SwitchView.RouteAnswer r = agrees(PEER);
        assertEquals("tcp NOT_ON_SAN_SUBNET " + PEER, r.provider() + " " + r.reason() + " " + r.target());
    }

    @Test
    void aPeerWhoseRdmaConnectFailedGoesToTcpWhileRememberedWithTheTimeLeft() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8").withConnectTimeout(Duration.ofMillis(200))
                .withFailureMemory(Duration.ofSeconds(60)));
        rdma.connectAtOnce = false; // the switch's timeout ends the RDMA attempt: FELL_BACK, remembered
        assertEquals("SAN_SUBNET", sw.routeTo(PEER).reason(), "before the failure");
        sw.connectAsync(PEER).toCompletableFuture().get(10, TimeUnit.SECONDS).abort();
        SwitchView.RouteAnswer r = agrees(PEER);
        assertEquals("RECENT_RDMA_FAILURE", r.reason());
        assertTrue(r.detail().matches("an RDMA connect to 127\\.0\\.0\\.1 failed with WSAETIMEDOUT \\(10060\\); straight to TCP for "
                + "(59|60)\\.\\d s more"), r.detail());
    }

    @Test
    void withTheRdmaProviderDownASanPeerGoesToTcp() throws Exception {
        start(SwitchSettings.withSubnets("127.0.0.0/8"));
        sw.unbindProvider(rdmaEngine); // what the rdma bundle's stop does
        SwitchView.RouteAnswer r = agrees(PEER);
        assertEquals("tcp RDMA_PROVIDER_DOWN", r.provider() + " " + r.reason());
    }

    @Test
    void withoutATcpProviderAPeerOffTheSanHasNoRoute() throws Exception {
        start(SwitchSettings.withSubnets("10.0.0.0/8"));
        sw.unbindProvider(tcpEngine);
        SwitchView.RouteAnswer r = sw.routeTo(PEER);
        assertNull(r.provider());
        assertTrue(r.detail().endsWith("no TCP provider is running: the connect fails with WSAENETDOWN"), r.detail());
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> sw.connect(PEER));
        assertTrue(e.getMessage().contains("no TCP provider is running"), e.getMessage());
    }
}
