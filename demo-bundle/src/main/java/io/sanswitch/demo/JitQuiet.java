package io.sanswitch.demo;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * The end of the demo's warm-up: waits until the JIT compiler has gone quiet, so that no phase is
 * timed while the echo path is still being compiled. Measured without it (10 runs), phase 1 (ucx)
 * ran at 1,900 to 3,100 MiB/s where phase 3 (then new connections over ucx, the same code seconds
 * later) ran at 3,600 to 4,000: the tcp warm-up between them had made call sites the two providers
 * share polymorphic, and the JVM recompiled them during phase 1.
 *
 * <p>The signal is positive and bounded: the JVM's total compilation time ({@link CompilationMXBean})
 * grew by at most {@link #QUIET_GROWTH_MILLIS} in each of {@link #QUIET_WINDOWS} consecutive windows
 * of {@link #WINDOW_MILLIS}, or {@code maxMillis} passed.
 */
final class JitQuiet {
    static final long WINDOW_MILLIS = 200;
    static final int QUIET_WINDOWS = 2;
    static final long QUIET_GROWTH_MILLIS = 2;

    /** How the wait ended. */
    record Outcome(boolean quiet, long waitedMillis) {
    }

    /** Sleeps between two readings; a test passes its own. */
    interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private JitQuiet() {
    }

    /** Waits on this JVM's compiler; not quiet at once if the JVM does not report compilation time. */
    static Outcome await(long maxMillis) throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return new Outcome(false, 0);
        }
        return await(jit::getTotalCompilationTime, Thread::sleep, maxMillis);
    }

    static Outcome await(LongSupplier compiledMillis, Sleeper sleeper, long maxMillis) throws InterruptedException {
        long before = compiledMillis.getAsLong();
        long waited = 0;
        int quiet = 0;
        while (quiet < QUIET_WINDOWS) {
            if (waited >= maxMillis) {
                return new Outcome(false, waited);
            }
            sleeper.sleep(WINDOW_MILLIS);
            waited += WINDOW_MILLIS;
            long now = compiledMillis.getAsLong();
            quiet = now - before <= QUIET_GROWTH_MILLIS ? quiet + 1 : 0;
            before = now;
        }
        return new Outcome(true, waited);
    }
}
