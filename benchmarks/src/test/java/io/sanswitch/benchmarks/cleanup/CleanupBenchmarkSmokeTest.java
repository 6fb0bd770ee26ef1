package io.sanswitch.benchmarks.cleanup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's short run of {@link CleanupBenchmark}: 100 sockets x 1,000 pending receives over NIO, one
 * final cleanup. The CSV and the plot are written, and the engine's per-step split is sane. The
 * targets are judged by the full run only.
 */
@Timeout(120)
class CleanupBenchmarkSmokeTest {

    @Test
    void aTinyGridWritesItsFilesAndTheStepsAddUp(@TempDir Path out) throws Exception {
        CleanupBenchmark.Options options = CleanupBenchmark.Options.parse("--smoke", "--out", out.toString());
        CleanupBenchmark.Result r = CleanupBenchmark.run(options, System.out);

        assertEquals(1, r.cells().size());
        Cell c = r.cells().get(0);
        assertTrue(c.measured(), c.toString());
        assertEquals(100, c.sockets());
        assertEquals(1_000, c.pending());
        for (double step : new double[] {c.gateMs(), c.abortMs(), c.resetMs(), c.transportMs()}) {
            assertTrue(step >= 0, "every step at least 0: " + c);
        }
        assertTrue(c.abortMs() > 0 && c.resetMs() > 0, "aborting 1,000 operations and resetting 100 sockets take time: " + c);
        assertTrue(c.stepsMs() <= c.totalMs(), "the steps add up to at most the total: " + c);
        assertTrue(c.rawCloseMs() > 0, "the raw-close reference was measured: " + c);

        List<String> csv = Files.readAllLines(r.csv());
        assertEquals(Cell.CSV_HEADER, csv.get(0));
        assertEquals(2, csv.size(), csv.toString());
        Cell back = Cell.parse(csv.get(1));
        assertEquals(c.sockets(), back.sockets());
        assertEquals(c.pending(), back.pending());
        assertEquals(c.totalMs(), back.totalMs(), 0.001, "the CSV line reads back as the cell");
        assertTrue(Files.size(r.png()) > 0, r.png().toString());
        assertEquals(900, ImageIO.read(r.png().toFile()).getWidth(), "a PNG of the plot");
        assertTrue(r.verdicts().stream().anyMatch(v -> v.startsWith("VERDICT target")), r.verdicts().toString());
    }
}
