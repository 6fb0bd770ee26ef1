package io.sanswitch.benchmarks.cleanup;

import java.util.Locale;

/**
 * One grid cell: the final cleanup of {@code sockets} sockets with {@code pending} operations on
 * one transport, the median of {@code repeats} runs. The split is that of the median run itself
 * (not the median of each step), so the steps add up to at most the total. {@code rawCloseMs}: the
 * floor, as many plain NIO channels reset without the engine ({@link RawCloseReference}, NIO only).
 * A skipped cell has a note and no figures.
 */
record Cell(String transport, int sockets, int pending, int repeats, double totalMs, double gateMs, double abortMs,
        double resetMs, double transportMs, double rawCloseMs, String note) {

    static final String CSV_HEADER = "transport,sockets,pending,repeats,total_ms,gate_ms,abort_release_ms,reset_ms,"
            + "transport_release_ms,raw_close_ms,note";

    static Cell skipped(String transport, int sockets, int pending, String why) {
        return new Cell(transport, sockets, pending, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, why);
    }

    boolean measured() {
        return repeats > 0;
    }

    double stepsMs() {
        return gateMs + abortMs + resetMs + transportMs;
    }

    Cell withRawClose(double ms) {
        return new Cell(transport, sockets, pending, repeats, totalMs, gateMs, abortMs, resetMs, transportMs, ms, note);
    }

    String csv() {
        return String.format(Locale.ROOT, "%s,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s", transport, sockets, pending, repeats,
                num(totalMs), num(gateMs), num(abortMs), num(resetMs), num(transportMs), num(rawCloseMs),
                note == null ? "" : '"' + note.replace('"', '\'') + '"');
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    /** Parses {@link #csv()} (the UCX child's lines). */
    static Cell parse(String line) {
        String[] f = line.split(",", 11);
        String note = f.length > 10 && !f[10].isEmpty() ? f[10].replaceAll("^\"|\"$", "") : null;
        return new Cell(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]), dbl(f[4]),
                dbl(f[5]), dbl(f[6]), dbl(f[7]), dbl(f[8]), dbl(f[9]), note);
    }

    private static double dbl(String s) {
        return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
    }
}
