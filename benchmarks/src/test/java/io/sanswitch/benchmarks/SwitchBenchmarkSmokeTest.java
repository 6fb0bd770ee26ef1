package io.sanswitch.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's short smoke run of {@link SwitchBenchmark}: two sizes, one short round, one UCX policy.
 * Every layer's measurement runs across two processes and yields positive figures, and the CSV and
 * both plots are written and readable. The targets are printed, never judged here.
 *
 * <p>The bound is a hang guard, not a speed check: the run takes about 35 s on an idle machine and
 * took 99 s and more than 120 s with every core kept busy by other processes (it measures again
 * what another process disturbed, and the children get a share of two cores).
 */
@Timeout(360)
class SwitchBenchmarkSmokeTest {

    @Test
    void aTinyRunWritesACsvWithPositiveFiguresAndTwoReadablePlots(@TempDir Path out) throws Exception {
        System.setProperty("java.awt.headless", "true");
        SwitchBenchmark.Options options = SwitchBenchmark.Options.parse("--smoke", "--out", out.toString());
        SwitchBenchmark.Result r = SwitchBenchmark.run(options, System.out);

        List<String> csv = Files.readAllLines(r.csv());
        assertEquals(BenchReport.CSV_HEADER, csv.get(0));
        // Per transport: raw, provider and switch (per policy for ucx), two metrics, two sizes.
        assertTrue(csv.size() - 1 >= 3 * 2 * 2, "at least tcp's rows: " + csv);
        assertEquals(r.rows().size(), csv.size() - 1);
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",", -1);
            assertEquals(8, f.length, line);
            assertTrue(Double.parseDouble(f[5]) > 0, "figure of " + line);
            assertTrue(Double.parseDouble(f[7]) > 0, "CPU per GiB of " + line);
        }
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("tcp,switch,")), "the switch over tcp was measured");
        for (Path png : List.of(r.throughputPng(), r.latencyPng())) {
            assertTrue(Files.size(png) > 10_000, png + " has " + Files.size(png) + " bytes");
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " is not a PNG ImageIO can read");
            assertEquals(1100, image.getWidth());
        }
        assertFalse(r.verdicts().isEmpty(), "the targets' ratios are computed (8 B and 1 MiB were measured)");
    }
}
