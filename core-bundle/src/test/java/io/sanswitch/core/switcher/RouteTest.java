package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
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

    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

    @Test
    void theDecisionNamesProviderTargetAndReasonForEachCase() {
        FailureMemory.Remembered timedOut = new FailureMemory.Remembered(WsaError.WSAETIMEDOUT, Duration.ofSeconds(7));
        assertEquals(new Route.Decision<>("ucx", true, new InetSocketAddress(PEER.getAddress(), 5003), Reason.SAN_SUBNET,
                null, false), Route.decide(PEER, 3, "ucx", "tcp", true, null), "RDMA at the port plus the offset");
        assertEquals(new Route.Decision<>("tcp", false, PEER, Reason.NOT_ON_SAN_SUBNET, null, false),
                Route.decide(PEER, 1, "ucx", "tcp", false, timedOut), "off the SAN, a memory does not matter");
        assertEquals(new Route.Decision<>("tcp", false, PEER, Reason.RDMA_PROVIDER_DOWN, null, false),
                Route.decide(PEER, 1, null, "tcp", true, timedOut));
        assertEquals(new Route.Decision<>("tcp", false, PEER, Reason.RECENT_RDMA_FAILURE, timedOut, false),
                Route.decide(PEER, 1, "ucx", "tcp", true, timedOut), "the remembered failure with its time left");
        assertEquals(new Route.Decision<String>(null, false, PEER, Reason.NOT_ON_SAN_SUBNET, null, false),
                Route.decide(PEER, 1, "ucx", null, false, null), "no TCP provider: no provider at all");
        InetSocketAddress high = new InetSocketAddress(PEER.getAddress(), 65535);
        assertEquals(new Route.Decision<>("tcp", false, high, Reason.RDMA_PROVIDER_DOWN, null, true),
                Route.decide(high, 1, "ucx", "tcp", true, null), "port + offset is no port: TCP");
    }

    @Test
    void aRememberedFailureTellsTheTimeItStillCounts() throws Exception {
        AtomicLong now = new AtomicLong(1_000);
        FailureMemory memory = new FailureMemory(now::get);
        InetAddress peer = InetAddress.getByName("10.0.0.7");
        memory.remember(peer, WsaError.WSAETIMEDOUT, Duration.ofSeconds(5));
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        assertEquals(new FailureMemory.Remembered(WsaError.WSAETIMEDOUT, Duration.ofSeconds(3)), memory.recall(peer));
        now.addAndGet(Duration.ofSeconds(3).toNanos());
        assertNull(memory.recall(peer), "expired at its time");
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
