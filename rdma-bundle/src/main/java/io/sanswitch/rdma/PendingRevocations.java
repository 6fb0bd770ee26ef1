package io.sanswitch.rdma;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The exposing side's revocations the peer has not acknowledged yet (docs/rules.md RD-access): a
 * deregistration waits for its acknowledgement, or for the connection's end (then the peer makes
 * no RDMA operation any more), before the memory is unmapped. Thread-safe: application threads
 * wait, the rendezvous thread acknowledges, any thread ends the connection.
 */
final class PendingRevocations {
    /** How a wait ended. */
    enum Outcome { ACKNOWLEDGED, CONNECTION_ENDED, TIMED_OUT }

    private final Map<Long, CountDownLatch> pending = new ConcurrentHashMap<>();
    private volatile boolean ended;

    /** Starts waiting for {@code exposure}'s acknowledgement: before its revocation is sent. */
    CountDownLatch open(long exposure) {
        CountDownLatch latch = new CountDownLatch(1);
        pending.put(exposure, latch);
        if (ended) {
            latch.countDown(); // ended meanwhile: nothing will acknowledge it
        }
        return latch;
    }

    /** The peer acknowledged {@code exposure}; one it was not asked for is ignored. */
    void acknowledged(long exposure) {
        CountDownLatch latch = pending.remove(exposure);
        if (latch != null) {
            latch.countDown();
        }
    }

    /** The connection ended: no wait goes on, no later one starts. */
    void connectionEnded() {
        ended = true;
        for (CountDownLatch latch : pending.values()) {
            latch.countDown();
        }
        pending.clear();
    }

    boolean hasEnded() {
        return ended;
    }

    /** Waits on an application thread for {@code latch} from {@link #open}, at most {@code bound}. */
    Outcome await(long exposure, CountDownLatch latch, Duration bound) {
        try {
            if (!latch.await(bound.toNanos(), TimeUnit.NANOSECONDS)) {
                pending.remove(exposure);
                return Outcome.TIMED_OUT;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.remove(exposure);
            return Outcome.TIMED_OUT;
        }
        return outcome(exposure, latch);
    }

    /** How the wait for a released or timed-out latch ended. */
    Outcome outcome(long exposure, CountDownLatch latch) {
        if (latch.getCount() > 0) {
            pending.remove(exposure);
            return Outcome.TIMED_OUT;
        }
        return ended ? Outcome.CONNECTION_ENDED : Outcome.ACKNOWLEDGED;
    }
}
