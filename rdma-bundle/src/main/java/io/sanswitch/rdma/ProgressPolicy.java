package io.sanswitch.rdma;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the progress thread does when a worker has nothing to do (docs/architecture.md, threads), chosen once per
 * run (a strategy object, docs/architecture.md conventions, not an if-chain in the loop).
 */
enum ProgressPolicy {
    /**
     * Keep polling: lowest latency, one core busy. The only policy without UCX's wakeup feature,
     * which costs an event file per transport and, for tagged messages, narrows UCX's choice of
     * lanes to transports that can raise events.
     */
    BUSY_POLL {
        @Override
        void idle(long worker, int idleRounds, long idleNanos) {
            Thread.onSpinWait();
        }

        @Override
        boolean sleeps() {
            return false;
        }
    },
    /** Sleep in the worker's event wait until traffic or a signal: (almost) no CPU when idle. */
    WAKEUP {
        @Override
        void idle(long worker, int idleRounds, long idleNanos) {
            sleep(worker);
        }
    },
    /** Poll for a while after the last event ({@value #LONG_SPIN} idle rounds, milliseconds), then sleep in the event wait. */
    SPIN_THEN_WAKEUP {
        @Override
        void idle(long worker, int idleRounds, long idleNanos) {
            if (idleRounds < LONG_SPIN) {
                Thread.onSpinWait();
            } else {
                sleep(worker);
            }
        }
    },
    /**
     * Poll briefly after the last event (for {@link #BRIEF_SPIN}: longer than a round trip of 1 MiB through
     * the switch, much shorter than a time slice), then sleep in the event wait. The default: on a machine
     * whose cores are all busy a thread that keeps spinning is never woken, so it waits for its turn
     * like any busy thread, and with it every call handed to it (a registration, an accept, a close);
     * one that sleeps is woken by the traffic or the signal and runs at once (docs/architecture.md,
     * threads).
     */
    SPIN_BRIEFLY_THEN_WAKEUP {
        @Override
        void idle(long worker, int idleRounds, long idleNanos) {
            // Wall time, not rounds: a thread the scheduler kept off its core for a while has spun enough.
            if (idleNanos < BRIEF_SPIN.toNanos()) {
                Thread.onSpinWait();
            } else {
                sleep(worker);
            }
        }
    };

    /** Idle rounds {@link #SPIN_THEN_WAKEUP} polls before it sleeps. */
    static final int LONG_SPIN = 20_000;
    /** How long {@link #SPIN_BRIEFLY_THEN_WAKEUP} polls after the last event before it sleeps. */
    static final Duration BRIEF_SPIN = Duration.ofNanos(250_000);

    /**
     * Called after a progress round that did nothing; {@code idleRounds} counts them, {@code idleNanos}
     * is the time since the first of them (from {@link System#nanoTime}).
     */
    abstract void idle(long worker, int idleRounds, long idleNanos);

    /**
     * The longest sleep in one event wait. UCX queues some of its own work (the purge of a
     * force-closed endpoint's requests) on its progress queue without raising an event: an
     * unbounded wait could sleep through it while operations wait for their completion.
     */
    static final int MAX_SLEEP_MILLIS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(ProgressPolicy.class);
    /** A wait that keeps failing would log once per idle round. */
    private static final AtomicBoolean WAIT_FAILURE_LOGGED = new AtomicBoolean();
    private static final AtomicLong WAIT_FAILURES = new AtomicLong();

    private static void sleep(long worker) {
        int status = UcxNative.waitForEvents(worker, MAX_SLEEP_MILLIS);
        if (status < 0) {
            backOff(worker, status);
        }
    }

    /**
     * A failed wait returns at once: without a pause a failure that persists would turn the idle
     * thread into a busy loop that nobody sees. It sleeps the wait's bound instead.
     */
    private static void backOff(long worker, int status) {
        WAIT_FAILURES.incrementAndGet();
        if (WAIT_FAILURE_LOGGED.compareAndSet(false, true)) {
            LOG.warn("waiting for events of UCX worker 0x{} failed with ucs_status_t {}; an idle progress thread now sleeps"
                    + " {} ms whenever its wait fails (logged once)", Long.toHexString(worker), status, MAX_SLEEP_MILLIS);
        }
        try {
            Thread.sleep(MAX_SLEEP_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Event waits that failed so far (all workers). */
    static long waitFailures() {
        return WAIT_FAILURES.get();
    }

    /**
     * Whether the thread sleeps in the worker's event wait, so the worker needs UCX's wakeup
     * feature (and other threads must signal it when they hand it work).
     */
    boolean sleeps() {
        return true;
    }
}
