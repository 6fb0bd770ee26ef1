package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.spi.WsaError;

/** The decision table of the switch (docs/rules.md SW-subnet, SW-certain) and the failure memory (subnets: api CidrTest). */
class RouteTest {

    @Test
    @io.sanswitch.testing.Checks("SW-subnet")
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
    @io.sanswitch.testing.Checks({"SW-certain", "SW-fallback"})
    void onlyConnResetConnRefusedAndHostUnreachStopTheFallback() {
        Set<WsaError> noFallback = EnumSet.of(WsaError.WSAECONNRESET, WsaError.WSAECONNREFUSED, WsaError.WSAEHOSTUNREACH);
        for (WsaError e : WsaError.values()) {
            assertEquals(!noFallback.contains(e), Route.fallsBackToTcp(e), e.toString());
        }
        assertTrue(Route.fallsBackToTcp(WsaError.WSAETIMEDOUT), "docs/rules.md SW-certain: WSAETIMEDOUT means try TCP/IP");
    }

    @Test
    @io.sanswitch.testing.Checks("SW-fallback")
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
}
