package io.sanswitch.benchmarks;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The warm-up of a peer process: the given time, then on until the JIT compiler threads went quiet.
 *
 * <p>Why (docs/performance.md, "8-byte round trip over TCP"): each peer JVM is pinned to one core,
 * so a compiler thread still at work takes that core from the thread being measured. At a few
 * thousand round trips per second the switch's larger code reaches C2's thresholds only seconds in;
 * after a fixed 2 s warm-up the compiler threads still used up to 70 % of the switch client's core in
 * a 0.5 s window, while the provider's (smaller) code was compiled. Measured that way, the ratio
 * compares the switch while it is being compiled with a compiled provider.
 *
 * <p>The signal is positive and bounded: the compiler threads' CPU time ({@code /proc/self/task},
 * threads named {@code C1/C2 CompilerThread}) grew by at most one tick in each of
 * {@link #QUIET_WINDOWS} consecutive windows of {@link #WINDOW_MILLIS}, or the bound in
 * {@link #MAX_EXTRA_PROPERTY} passed (then the measurement is taken anyway and the line says so).
 * {@link SwitchBenchmark} sets the bound ({@code --jit-settle}, 20 s); without it, and where
 * {@code /proc} is not there, it is the fixed warm-up only.
 */
final class JitWarmup {
    static final long WINDOW_MILLIS = 200;
    static final int QUIET_WINDOWS = 2;
    /** The bound of the extra wait in ms; 0 (the default, and the smoke runs'): the fixed warm-up only. */
    static final String MAX_EXTRA_PROPERTY = "sanswitch.bench.jitSettleMillis";
    private static final Path TASKS = Path.of("/proc/self/task");

    private JitWarmup() {
    }

    /**
     * Sleeps {@code nanos}, then until the compiler threads went quiet; reports on standard error how
     * long the extra wait took (the peers' standard output is their control protocol).
     */
    static void settle(long nanos) throws InterruptedException {
        Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        long maxExtra = Long.getLong(MAX_EXTRA_PROPERTY, 0);
        long before = maxExtra > 0 ? compilerTicks() : -1;
        if (before < 0) {
            return;
        }
        long start = System.nanoTime();
        int quiet = 0;
        while (quiet < QUIET_WINDOWS) {
            long waited = (System.nanoTime() - start) / 1_000_000;
            if (waited >= maxExtra) {
                System.err.printf(Locale.ROOT, "warm-up: the JIT compiler threads still busy %d ms after the warm-up; measuring anyway%n",
                        waited);
                return;
            }
            Thread.sleep(WINDOW_MILLIS);
            long now = compilerTicks();
            quiet = now - before <= 1 ? quiet + 1 : 0;
            before = now;
        }
        System.err.printf(Locale.ROOT, "warm-up: the JIT compiler threads quiet %d ms after the warm-up%n",
                (System.nanoTime() - start) / 1_000_000);
    }

    /** The compiler threads' user + system time in clock ticks so far, or -1 where it cannot be read. */
    static long compilerTicks() {
        if (!Files.isDirectory(TASKS)) {
            return -1;
        }
        long sum = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(TASKS)) {
            for (Path task : tasks) {
                sum += compilerTicks(task);
            }
        } catch (IOException e) {
            return -1;
        }
        return sum;
    }

    private static long compilerTicks(Path task) {
        String stat;
        try {
            stat = Files.readString(task.resolve("stat"));
        } catch (IOException threadEnded) {
            return 0;
        }
        // "pid (comm) state ppid ...": comm may hold spaces, so the fields are counted after the last ')'.
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < open || !stat.substring(open + 1, close).contains("CompilerThre")) {
            return 0;
        }
        String[] fields = stat.substring(close + 2).split(" ");
        // fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
        return fields.length > 12 ? Long.parseLong(fields[11]) + Long.parseLong(fields[12]) : 0;
    }
}
