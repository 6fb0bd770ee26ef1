package io.sanswitch.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Counts threads inside a guarded region (SPI calls, event postings) so that a closer can wait
 * for them to leave, without ever waiting for itself.
 *
 * <p>The guard and the closer meet Dekker-style: a thread first {@link #enter()}s, then reads the
 * state that admits it; the closer first writes that state, then {@linkplain #awaitQuiescent
 * waits}. With both sides on volatile/atomic accesses at least one of them sees the other, so
 * no thread slips in unseen.
 *
 * <p>A thread may be inside the same region more than once (an upcall made from inside an SPI
 * call calls the provider again). {@link #awaitQuiescent} therefore discounts the calling thread's
 * own entries: a cleanup made from inside an upcall never waits on its own thread (docs/rules.md LC-reentrant).
 */
final class InFlight {
    /** Per thread, the regions it is inside, innermost last; shallow, so a list is enough. */
    private static final ThreadLocal<ArrayList<InFlight>> ENTERED = ThreadLocal.withInitial(() -> new ArrayList<>(4));

    private final String name;
    private final AtomicInteger inside = new AtomicInteger();

    InFlight(String name) {
        this.name = name;
    }

    void enter() {
        inside.incrementAndGet();
        ENTERED.get().add(this);
    }

    void exit() {
        ArrayList<InFlight> entered = ENTERED.get();
        // Regions are left in reverse order of entry; search from the end for robustness.
        for (int i = entered.size() - 1; i >= 0; i--) {
            if (entered.get(i) == this) {
                entered.remove(i);
                break;
            }
        }
        inside.decrementAndGet();
    }

    /** Entries of the calling thread. */
    int ownEntries() {
        int n = 0;
        for (InFlight f : ENTERED.get()) {
            if (f == this) {
                n++;
            }
        }
        return n;
    }

    /**
     * Waits, at most {@code timeout}, until no thread but the caller is inside.
     *
     * @return {@code true} if quiescent; {@code false} if the time ran out (the caller logs a
     *     thread dump and carries on) or the thread was interrupted (the interrupt is re-asserted)
     */
    boolean awaitQuiescent(Duration timeout) {
        int own = ownEntries();
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = TimeUnit.MICROSECONDS.toNanos(20);
        while (inside.get() - own > 0) {
            if (Thread.currentThread().isInterrupted()) {
                return false;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            LockSupport.parkNanos(Math.min(pause, left));
            pause = Math.min(pause * 2, TimeUnit.MILLISECONDS.toNanos(5));
        }
        return true;
    }

    @Override
    public String toString() {
        return name + "[inside=" + inside.get() + "]";
    }
}
