package io.sanswitch.rdma;

import org.openucx.jucx.ucp.UcpWorker;

/**
 * What the progress thread does when a worker has nothing to do (DESIGN 4), chosen once per
 * run (STYLE 2.5: a strategy object, not an if-chain in the loop).
 */
enum ProgressPolicy {
    /** Keep polling: lowest latency, one core busy. */
    BUSY_POLL {
        @Override
        void idle(UcpWorker worker, int idleRounds) {
            Thread.onSpinWait();
        }
    },
    /** Sleep in the worker's event wait until traffic or a signal: no CPU when idle. */
    WAKEUP {
        @Override
        void idle(UcpWorker worker, int idleRounds) {
            worker.waitForEvents();
        }
    },
    /** Poll for a while after the last event, then sleep in the event wait. */
    SPIN_THEN_WAKEUP {
        @Override
        void idle(UcpWorker worker, int idleRounds) {
            if (idleRounds < 20_000) {
                Thread.onSpinWait();
            } else {
                worker.waitForEvents();
            }
        }
    };

    /** Called after a progress round that did nothing; {@code idleRounds} counts them. */
    abstract void idle(UcpWorker worker, int idleRounds);
}
