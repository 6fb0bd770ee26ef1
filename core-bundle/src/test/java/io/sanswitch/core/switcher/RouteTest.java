package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.spi.WsaError;

/** The decision table of the switch (spec 6.1, 6.2), the failure memory and subnet matching. */
class RouteTest {

    @Test
    void theFirstAttemptFollowsSubnetProviderAndMemoryInThatOrder() {
        assertEquals(new Route.Plan(Route.First.RDMA, Reason.SAN_SUBNET, null), Route.plan(true, true, null));
        assertEquals(new Route.Plan(Route.First.TCP, Reason.NOT_ON_SAN_SUBNET, null), Route.plan(false, true, null));
        assertEquals(new Route.Plan(Route.First.TCP, Reason.NOT_ON_SAN_SUBNET, null),
                Route.plan(false, false, WsaError.WSAETIMEDOUT));
        assertEquals(new Route.Plan(Route.First.TCP, Reason.RDMA_PROVIDER_DOWN, null), Route.plan(true, false, null));
        assertEquals(new Route.Plan(Route.First.TCP, Reason.RECENT_RDMA_FAILURE, WsaError.WSAETIMEDOUT),
                Route.plan(true, true, WsaError.WSAETIMEDOUT));
    }

    @Test
    void onlyConnResetConnRefusedAndHostUnreachStopTheFallback() {
        Set<WsaError> noFallback = EnumSet.of(WsaError.WSAECONNRESET, WsaError.WSAECONNREFUSED, WsaError.WSAEHOSTUNREACH);
        for (WsaError e : WsaError.values()) {
            assertEquals(!noFallback.contains(e), Route.fallsBackToTcp(e), e.toString());
        }
        assertTrue(Route.fallsBackToTcp(WsaError.WSAETIMEDOUT), "spec 6.2: WSAETIMEDOUT means try TCP/IP");
    }

    @Test
    void aRememberedFailureExpiresAfterItsTime() throws Exception {
        AtomicLong now = new AtomicLong(1_000);
        FailureMemory memory = new FailureMemory(now::get);
        InetAddress peer = InetAddress.getByName("10.0.0.7");
        memory.remember(peer, WsaError.WSAETIMEDOUT, Duration.ofSeconds(5));
        assertEquals(WsaError.WSAETIMEDOUT, memory.recent(peer));
        assertNull(memory.recent(InetAddress.getByName("10.0.0.8")), "per peer");
        now.addAndGet(Duration.ofSeconds(5).toNanos() - 1);
        assertEquals(WsaError.WSAETIMEDOUT, memory.recent(peer));
        now.addAndGet(1);
        assertNull(memory.recent(peer), "expired");
        assertEquals(0, memory.size());
        memory.remember(peer, WsaError.WSAETIMEDOUT, Duration.ZERO);
        assertNull(memory.recent(peer), "a memory of 0 s remembers nothing");
    }

    @Test
    void subnetsMatchTheirFamilyAndPrefixAndBadEntriesAreReported() throws Exception {
        Cidr ten = Cidr.parse("10.1.2.3/16");
        assertEquals("10.1.0.0/16", ten.toString());
        assertTrue(ten.contains(InetAddress.getByName("10.1.255.1")));
        assertFalse(ten.contains(InetAddress.getByName("10.2.0.1")));
        assertFalse(ten.contains(InetAddress.getByName("::1")));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("8.8.8.8")));
        assertTrue(Cidr.parse("fd00::/8").contains(InetAddress.getByName("fd12::1")));
        List<String> bad = new ArrayList<>();
        List<Cidr> parsed = Cidr.parseAll(List.of("127.0.0.0/8, 192.168.0.0/24", "nonsense", "10.0.0.0/33", "host.example/8"), bad);
        assertEquals(2, parsed.size());
        assertEquals(List.of("nonsense", "10.0.0.0/33", "host.example/8"), bad);
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse(null));
    }
}
