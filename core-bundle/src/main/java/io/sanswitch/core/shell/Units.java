package io.sanswitch.core.shell;

import java.util.Locale;
import java.util.function.LongFunction;

/** Human-readable byte counts, rates and durations, always in the same units (binary prefixes). */
final class Units {
    private Units() {
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** A change in bytes, always with its sign. */
    static String signedBytes(long delta) {
        return (delta < 0 ? "-" : "+") + bytes(delta == Long.MIN_VALUE ? Long.MAX_VALUE : Math.abs(delta));
    }

    /** Bytes per second as MiB/s. */
    static String rate(long bytes, long nanos) {
        if (nanos <= 0) {
            return "-";
        }
        double mibPerSecond = bytes / 1048576.0 / (nanos / 1e9);
        return String.format(Locale.ROOT, "%.1f MiB/s", mibPerSecond);
    }

    /**
     * A duration cell of a {@link Table}: the table writes every duration of one column in the same
     * unit (chosen by {@link #durationFormat}), so rows compare at a glance.
     */
    record Elapsed(long nanos) {
    }

    /** A duration in the unit that keeps it readable: µs below 10 ms, ms below 10 s, else s. */
    static String duration(long nanos) {
        return durationFormat(nanos, nanos).apply(nanos);
    }

    /**
     * One format for durations from {@code min} to {@code max} nanoseconds: the unit that keeps the
     * largest readable (µs below 10 ms, ms below 10 s, else s), whole numbers unless the smallest
     * would then show fewer than two digits (one decimal then).
     */
    static LongFunction<String> durationFormat(long min, long max) {
        if (max < 10_000_000L) {
            return n -> String.format(Locale.ROOT, "%d µs", n / 1000);
        }
        if (max < 10_000_000_000L) {
            return min < 10_000_000L ? n -> String.format(Locale.ROOT, "%.1f ms", n / 1e6)
                    : n -> String.format(Locale.ROOT, "%d ms", n / 1_000_000);
        }
        return n -> String.format(Locale.ROOT, "%.1f s", n / 1e9);
    }
}
