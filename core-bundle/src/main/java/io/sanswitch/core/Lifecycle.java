package io.sanswitch.core;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The reference count and lifecycle state of one engine (docs/rules.md LC-count, LC-unmatched), changed only by
 * compare-and-set of one immutable snapshot, so a count and its state never disagree. Every
 * transition is logged. No lock is held while the transport opens or while a final cleanup runs:
 * both happen in the transitional states {@code STARTING} and {@code CLEANING_UP}, which other
 * startups wait out (bounded) and other cleanups see as "nothing outstanding".
 */
final class Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);

    /** One consistent view: state, reference count and the generation of the current run. */
    record Snapshot(LifecycleState state, int count, long generation) {
    }

    /** Opens the transport for the first startup. */
    @FunctionalInterface
    interface Opener {
        void open(long generation) throws WsaException;
    }

    /** Runs the final cleanup; returns its failure to report, or {@code null}. */
    @FunctionalInterface
    interface FinalCleanup {
        WsaException run(long generation);
    }

    /** What one cleanup call did. */
    enum CleanupOutcome {
        /** The count went down and stayed above zero: nothing else was touched. */
        DECREMENTED,
        /** This call took the count to zero and ran the final cleanup. */
        FINAL
    }

    private final String name;
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>(new Snapshot(LifecycleState.IDLE, 0, 0));
    private final Object transitions = new Object();
    private volatile Thread cleaningThread;

    Lifecycle(String name) {
        this.name = name;
    }

    Snapshot snapshot() {
        return snapshot.get();
    }

    /** {@code true} on the thread that runs the final cleanup now. */
    boolean isCleaningThread() {
        return cleaningThread == Thread.currentThread();
    }

    /**
     * One startup: counts, and on the first one opens the transport.
     *
     * @return the generation of the run this startup belongs to
     */
    long startup(int maxStartups, Duration waitForTransition, Opener opener) throws WsaException {
        long deadline = System.nanoTime() + waitForTransition.toNanos();
        while (true) {
            Snapshot s = snapshot.get();
            switch (s.state) {
                case RUNNING -> {
                    if (s.count >= maxStartups) {
                        throw new WsaException(WsaError.WSAEPROCLIM, name + ": " + s.count + " startups outstanding, the configured maximum");
                    }
                    if (snapshot.compareAndSet(s, new Snapshot(LifecycleState.RUNNING, s.count + 1, s.generation))) {
                        return s.generation;
                    }
                }
                case IDLE -> {
                    Snapshot starting = new Snapshot(LifecycleState.STARTING, 0, s.generation + 1);
                    if (snapshot.compareAndSet(s, starting)) {
                        return firstStartup(s, starting, opener);
                    }
                }
                case STARTING, CLEANING_UP -> {
                    if (isCleaningThread()) {
                        // A startupEx made from an upcall of the final cleanup: the cleanup cannot
                        // end while this thread waits for it (docs/rules.md LC-reentrant).
                        throw new WsaException(WsaError.WSASYSNOTREADY, name + ": startupEx from inside the final cleanup");
                    }
                    if (!awaitChange(s, deadline)) {
                        throw new WsaException(WsaError.WSASYSNOTREADY, name + ": still " + s.state + " after "
                                + waitForTransition.toMillis() + " ms");
                    }
                }
            }
        }
    }

    private long firstStartup(Snapshot before, Snapshot starting, Opener opener) throws WsaException {
        transition(before, starting);
        try {
            opener.open(starting.generation);
        } catch (WsaException | RuntimeException e) {
            // docs/rules.md Q7: a failed startup changes nothing.
            set(before);
            transition(starting, before);
            if (e instanceof WsaException w) {
                throw w;
            }
            throw new WsaException(WsaError.WSASYSNOTREADY, name + ": the transport failed to open", e);
        }
        Snapshot running = new Snapshot(LifecycleState.RUNNING, 1, starting.generation);
        set(running);
        transition(starting, running);
        return running.generation;
    }

    /**
     * One cleanup: decrements, and when the count reaches zero runs {@code finalCleanup} on this
     * thread in state {@code CLEANING_UP}, then goes back to {@code IDLE} whatever happened.
     *
     * @throws WsaException {@code WSANOTINITIALISED} when no startup is outstanding (which is also
     *     what a cleanup sees while the final one runs); the final cleanup's failure
     */
    CleanupOutcome cleanup(FinalCleanup finalCleanup) throws WsaException {
        while (true) {
            Snapshot s = snapshot.get();
            if (s.state != LifecycleState.RUNNING) {
                throw new WsaException(WsaError.WSANOTINITIALISED, name + ": no startupEx outstanding (" + s.state + ")");
            }
            if (s.count > 1) {
                if (snapshot.compareAndSet(s, new Snapshot(LifecycleState.RUNNING, s.count - 1, s.generation))) {
                    return CleanupOutcome.DECREMENTED;
                }
                continue;
            }
            Snapshot cleaning = new Snapshot(LifecycleState.CLEANING_UP, 0, s.generation);
            if (snapshot.compareAndSet(s, cleaning)) {
                runFinal(s, cleaning, finalCleanup);
                return CleanupOutcome.FINAL;
            }
        }
    }

    /**
     * The final cleanup whatever the count (docs/architecture.md, lifecycle, bundle stop = final cleanup).
     *
     * @return {@code false} if no run was active (nothing to clean up)
     */
    boolean forceFinal(FinalCleanup finalCleanup) throws WsaException {
        while (true) {
            Snapshot s = snapshot.get();
            if (s.state != LifecycleState.RUNNING) {
                return false;
            }
            Snapshot cleaning = new Snapshot(LifecycleState.CLEANING_UP, 0, s.generation);
            if (snapshot.compareAndSet(s, cleaning)) {
                runFinal(s, cleaning, finalCleanup);
                return true;
            }
        }
    }

    private void runFinal(Snapshot before, Snapshot cleaning, FinalCleanup finalCleanup) throws WsaException {
        transition(before, cleaning);
        cleaningThread = Thread.currentThread();
        WsaException failure;
        try {
            failure = finalCleanup.run(cleaning.generation);
        } finally {
            cleaningThread = null;
            Snapshot idle = new Snapshot(LifecycleState.IDLE, 0, cleaning.generation);
            set(idle);
            transition(cleaning, idle);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void set(Snapshot next) {
        snapshot.set(next);
        synchronized (transitions) {
            transitions.notifyAll();
        }
    }

    private boolean awaitChange(Snapshot seen, long deadline) {
        synchronized (transitions) {
            while (snapshot.get() == seen) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(transitions, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    private void transition(Snapshot from, Snapshot to) {
        LOG.debug("{}: changed state from {} (count {}, generation {}) to {} (count {}, generation {})",
                name, from.state, from.count, from.generation, to.state, to.count, to.generation);
    }
}
