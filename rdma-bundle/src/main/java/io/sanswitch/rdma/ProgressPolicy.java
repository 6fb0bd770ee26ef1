package io.sanswitch.rdma;

/**
 * What the progress thread does when a worker has nothing to do (DESIGN 4), chosen once per
 * run (STYLE 2.5: a strategy object, not an if-chain in the loop).
 */
enum ProgressPolicy {
    /**
     * Keep polling: lowest latency, one core busy. The only policy without UCX's wakeup feature,
     * which costs an event file per transport and, for tagged messages, narrows UCX's choice of
     * lanes to transports that can raise events.
     */
    BUSY_POLL {
        @Override
        void idle(long worker, int idleRounds) {
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
        void idle(long worker, int idleRounds) {
            sleep(worker);
        }
    },
    /** Poll for a while after the last event, then sleep in the event wait. */
    SPIN_THEN_WAKEUP {
        @Override
        void idle(long worker, int idleRounds) {
            if (idleRounds < 20_000) {
                Thread.onSpinWait();
            } else {
                sleep(worker);
            }
        }
    };

    /** Called after a progress round that did nothing; {@code idleRounds} counts them. */
    abstract void idle(long worker, int idleRounds);

    /**
     * The longest sleep in one event wait. UCX queues some of its own work (the purge of a
     * force-closed endpoint's requests) on its progress queue without raising an event: an
     * unbounded wait could sleep through it while operations wait for their completion.
     */
    static final int MAX_SLEEP_MILLIS = 10;

    private static void sleep(long worker) {
        UcxNative.waitForEvents(worker, MAX_SLEEP_MILLIS);
    }

    /**
     * Whether the thread sleeps in the worker's event wait, so the worker needs UCX's wakeup
     * feature (and other threads must signal it when they hand it work).
     */
    boolean sleeps() {
        return true;
    }
}
