package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;

import io.sanswitch.testing.Checks;

/**
 * An event wait that fails does not turn a sleeping policy's idle round into a busy loop: the
 * round sleeps the wait's bound instead (and the failure is logged once). A real worker without
 * UCX's wakeup feature makes every wait fail (ucp_worker_get_efd: UCS_ERR_INVALID_PARAM).
 */
class ProgressPolicyBackOffTest {

    @Test
    void aFailingEventWaitBacksOffInsteadOfReturningAtOnce() {
        assertTrue(UcxNative.isAvailable(), () -> "the JNI library: " + UcxNative.unavailabilityCause());
        try (UcpContext context = new UcpContext(new UcpParams().requestTagFeature());
                UcpWorker worker = context.newWorker(new UcpWorkerParams())) {
            long handle = worker.getNativeId();
            int status = UcxNative.waitForEvents(handle, 0);
            assertTrue(status < 0, "a worker without the wakeup feature cannot wait: " + status);
            for (ProgressPolicy policy : new ProgressPolicy[] {ProgressPolicy.WAKEUP, ProgressPolicy.SPIN_THEN_WAKEUP,
                    ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP}) {
                long failures = ProgressPolicy.waitFailures();
                long started = System.nanoTime();
                policy.idle(handle, Integer.MAX_VALUE, Long.MAX_VALUE); // past any spinning
                long millis = (System.nanoTime() - started) / 1_000_000;
                assertTrue(ProgressPolicy.waitFailures() > failures, policy + ": the failed wait is counted");
                assertTrue(millis >= ProgressPolicy.MAX_SLEEP_MILLIS,
                        policy + ": an idle round with a failing wait took " + millis + " ms, less than the wait's bound of "
                                + ProgressPolicy.MAX_SLEEP_MILLIS + " ms");
            }
        }
    }

    /**
     * docs/rules.md RD-progress-idle: where each policy stops polling and waits, counted by the waits a
     * worker without the wakeup feature fails (each wait tried is one failure), not timed.
     */
    @Test
    @Checks("RD-progress-idle")
    void theDefaultPolicyWaitsForEventsAfterABriefSpinInTimeTheLongSpinAfterItsRounds() {
        assertTrue(UcxNative.isAvailable(), () -> "the JNI library: " + UcxNative.unavailabilityCause());
        assertEquals(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, UcxTransportComponent.Settings.DEFAULTS.policy(), "the default");
        try (UcpContext context = new UcpContext(new UcpParams().requestTagFeature());
                UcpWorker worker = context.newWorker(new UcpWorkerParams())) {
            long handle = worker.getNativeId();
            long brief = ProgressPolicy.BRIEF_SPIN.toNanos();
            assertEquals(0, waitsIn(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, handle, 1_000_000, brief - 1),
                    "the brief spin polls, however many rounds, until its time is up");
            assertEquals(1, waitsIn(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, handle, 1, brief), "then waits");
            assertEquals(0, waitsIn(ProgressPolicy.SPIN_THEN_WAKEUP, handle, ProgressPolicy.LONG_SPIN - 1, Long.MAX_VALUE),
                    "the long spin polls its rounds, however long they took");
            assertEquals(1, waitsIn(ProgressPolicy.SPIN_THEN_WAKEUP, handle, ProgressPolicy.LONG_SPIN, 0));
            assertEquals(0, waitsIn(ProgressPolicy.BUSY_POLL, handle, Integer.MAX_VALUE, Long.MAX_VALUE), "busy-poll never waits");
        }
    }

    /** The event waits {@code policy} tried in its idle round {@code round}, {@code nanos} after the first. */
    private static long waitsIn(ProgressPolicy policy, long worker, int round, long nanos) {
        long failures = ProgressPolicy.waitFailures();
        policy.idle(worker, round, nanos);
        return ProgressPolicy.waitFailures() - failures;
    }
}
