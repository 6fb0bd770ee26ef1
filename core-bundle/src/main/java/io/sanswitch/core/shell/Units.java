package io.sanswitch.core.shell;

import java.util.Locale;

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

    /** A duration in the unit that keeps it readable: µs below 10 ms, ms below 10 s, else s. */
    static String duration(long nanos) {
        if (nanos < 10_000_000L) {
            return String.format(Locale.ROOT, "%d µs", nanos / 1000);
        }
        if (nanos < 10_000_000_000L) {
            return String.format(Locale.ROOT, "%d ms", nanos / 1_000_000);
        }
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
