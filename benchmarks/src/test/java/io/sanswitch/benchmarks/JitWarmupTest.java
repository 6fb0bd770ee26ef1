package io.sanswitch.benchmarks;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link JitWarmup}: reads the compiler threads' time, and its extra wait stays within its bound. */
class JitWarmupTest {
    @AfterEach
    void clear() {
        System.clearProperty(JitWarmup.MAX_EXTRA_PROPERTY);
    }

    @Test
    void theCompilerThreadsTimeIsReadWhereProcIsThere() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux /proc");
        // This JVM ran JUnit's code for a while: its compiler threads have compiled something.
        long ticks = JitWarmup.compilerTicks();
        assertTrue(ticks >= 0, "compiler ticks " + ticks);
    }

    @Test
    void withoutTheBoundItIsTheFixedWarmupOnly() throws InterruptedException {
        long t0 = System.nanoTime();
        JitWarmup.settle(TimeUnit.MILLISECONDS.toNanos(50));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 50, "slept " + ms + " ms");
        // No window of the quiet check ran (each is 200 ms); generous for a loaded machine.
        assertTrue(ms < 50 + 2 * JitWarmup.WINDOW_MILLIS * JitWarmup.QUIET_WINDOWS, "took " + ms + " ms");
    }

    @Test
    void theExtraWaitEndsQuietOrAtItsBound() throws InterruptedException {
        assumeTrue(JitWarmup.compilerTicks() >= 0, "Linux /proc");
        System.setProperty(JitWarmup.MAX_EXTRA_PROPERTY, "1000");
        long t0 = System.nanoTime();
        JitWarmup.settle(0);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // At least the quiet windows, at most the bound plus one window.
        assertTrue(ms >= JitWarmup.WINDOW_MILLIS * JitWarmup.QUIET_WINDOWS || ms >= 1000, "took " + ms + " ms");
        assertTrue(ms < 1000 + JitWarmup.WINDOW_MILLIS + 5_000, "took " + ms + " ms");
    }
}
