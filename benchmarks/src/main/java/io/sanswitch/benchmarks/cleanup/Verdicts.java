package io.sanswitch.benchmarks.cleanup;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The two judgements: the NIO target cell under 100 ms, and at most linear growth: along
 * each tenfold step of sockets (pending fixed), of pending operations (sockets fixed), and of both
 * (the diagonal), the median time grows at most 11 times.
 */
final class Verdicts {
    private Verdicts() {
    }

    static List<String> of(List<Cell> cells) {
        List<String> out = new ArrayList<>();
        Optional<Cell> target = find(cells, "nio", CleanupBenchmark.TARGET_SOCKETS, CleanupBenchmark.TARGET_PENDING);
        if (target.isPresent()) {
            double ms = target.get().totalMs();
            out.add(String.format(Locale.ROOT, "VERDICT target: %d sockets + %d pending over NIO in %.2f ms (< %.0f ms): %s",
                    CleanupBenchmark.TARGET_SOCKETS, CleanupBenchmark.TARGET_PENDING, ms, CleanupBenchmark.TARGET_MS,
                    ms < CleanupBenchmark.TARGET_MS ? "MET" : "MISSED"));
            double floor = target.get().rawCloseMs();
            if (!Double.isNaN(floor)) {
                out.add(String.format(Locale.ROOT, "  floor: resetting %d plain NIO channels without the engine takes %.2f ms here "
                        + "(engine: %.2f ms above it)", CleanupBenchmark.TARGET_SOCKETS, floor, ms - floor));
            }
        } else {
            out.add("VERDICT target: not measured (the 10,000 x 100,000 NIO cell is not in this grid)");
        }
        for (String t : cells.stream().map(Cell::transport).distinct().toList()) {
            List<String> steps = new ArrayList<>();
            double worst = 0;
            for (Cell c : cells) {
                if (!c.transport().equals(t) || !c.measured()) {
                    continue;
                }
                int[][] next = {{c.sockets(), c.pending() * 10}, {c.sockets() * 10, c.pending()},
                    {c.sockets() * 10, c.pending() * 10}};
                for (int[] n : next) {
                    Optional<Cell> bigger = find(cells, t, n[0], n[1]);
                    if (bigger.isPresent()) {
                        double ratio = bigger.get().totalMs() / c.totalMs();
                        worst = Math.max(worst, ratio);
                        steps.add(String.format(Locale.ROOT, "%dx%d->%dx%d %.2f", c.sockets(), c.pending(), n[0], n[1],
                                ratio));
                    }
                }
            }
            if (steps.isEmpty()) {
                out.add("VERDICT linearity " + t + ": not judged (no tenfold step measured)");
            } else {
                out.add(String.format(Locale.ROOT, "VERDICT linearity %s: worst time ratio per 10x work %.2f (<= %.0f): %s [%s]",
                        t, worst, CleanupBenchmark.MAX_GROWTH, worst <= CleanupBenchmark.MAX_GROWTH ? "MET" : "MISSED",
                        String.join(", ", steps)));
            }
        }
        return out;
    }

    private static Optional<Cell> find(List<Cell> cells, String transport, int sockets, int pending) {
        return cells.stream().filter(c -> c.measured() && c.transport().equals(transport) && c.sockets() == sockets
                && c.pending() == pending).findFirst();
    }
}
