package io.sanswitch.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's short smoke run of {@link SwitchBenchmark}: two sizes, one short round, one UCX policy.
 * Every layer's measurement runs across two processes and yields positive figures, and the CSV and
 * both plots are written and readable. Where UCX is there, the switch with migrate on
 * ({@code switch+migrate}) is measured beside the switch, its peers check that the connection keeps
 * what it sent for a move, and the cost lines (switch+migrate ÷ switch) are printed. The targets
 * and the cost are printed, never judged here.
 *
 * <p>The bound is a hang guard, not a speed check: the run takes about 35 s on an idle machine and
 * took 99 s and more than 120 s with every core kept busy by other processes (it measures again
 * what another process disturbed, and the children get a share of two cores); the switch+migrate
 * layer adds a seventh of that (80 s at a load average of 10).
 */
@Timeout(480)
class SwitchBenchmarkSmokeTest {

    @Test
    void aTinyRunWritesACsvWithPositiveFiguresAndTwoReadablePlots(@TempDir Path out) throws Exception {
        System.setProperty("java.awt.headless", "true");
        SwitchBenchmark.Options options = SwitchBenchmark.Options.parse("--smoke", "--out", out.toString());
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(new TeeStream(System.out, printed), true, StandardCharsets.UTF_8);
        SwitchBenchmark.Result r = SwitchBenchmark.run(options, both);
        both.flush();
        String text = printed.toString(StandardCharsets.UTF_8);

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

        Optional<String> noUcx = UcxBenchmark.unavailable(options.ucx());
        if (noUcx.isPresent()) {
            System.out.println("switch+migrate not checked: ucx cannot run here: " + noUcx.get());
            assertTrue(text.contains("switch+migrate not measured"), "the missing layer is named");
            assertTrue(r.costs().isEmpty());
            return;
        }
        // Per size and metric: the switch with and without migration over ucx, never over tcp.
        for (String metric : List.of("throughput", "round_trip")) {
            for (int size : List.of(8, 1 << 20)) {
                String row = "ucx,switch+migrate,spin-briefly-then-wakeup," + size + "," + metric + ",";
                assertTrue(csv.stream().anyMatch(l -> l.startsWith(row)), row + " in " + csv);
            }
        }
        assertFalse(csv.stream().anyMatch(l -> l.startsWith("tcp,switch+migrate,")), "a tcp connection never moves");
        assertEquals(4, r.costs().size(), "a cost per metric and size: " + r.costs());
        for (SwitchBenchmark.Cost c : r.costs()) {
            assertTrue(c.ofMedians() > 0, "switch+migrate ÷ switch of " + c);
            assertEquals(1, c.perRound().length);
        }
        assertTrue(text.contains("Cost of migration"), "the cost lines are printed");
        assertTrue(text.contains("ucx spin-briefly-then-wakeup: switch+migrate ÷ provider, 1 MiB throughput"), "its target is printed");
        assertTrue(text.contains("ucx switch+migrate spin-briefly-then-wakeup"), "the table has its column");
    }

    @Test
    void theOldMigrateFlagNamesWhatReplacedIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SwitchBenchmark.Options.parse("--migrate"));
        assertTrue(e.getMessage().contains("switch+migrate"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SwitchBenchmark.Options.parse("--layers", "switch,migrate"));
        assertEquals(List.of("switch", "switch+migrate"), SwitchBenchmark.Options.parse("--layers", "switch,switch+migrate").layers());
    }

    /** Writes to two streams: the run's lines stay in the test's output and are checked afterwards. */
    private static final class TeeStream extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        TeeStream(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] data, int off, int len) throws IOException {
            a.write(data, off, len);
            b.write(data, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }
}
