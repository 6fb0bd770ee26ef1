package io.sanswitch.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * CI's short smoke run of {@link UcxBenchmark}: one short round per transport setting, every
 * measurement of both ucx_perftest and sanswitch (two JVMs each) runs and yields a sane figure.
 * The targets are judged by the full run (see the class Javadoc of UcxBenchmark), never here.
 * Skipped, with the reason, where ucx_perftest, libucx or the UCX peer is
 * missing.
 */
@Timeout(600)
class UcxBenchmarkSmokeTest {

    @Test
    void everyMeasurementRunsAcrossTwoProcessesAndYieldsASaneFigure() throws Exception {
        UcxBenchmark.Options options = UcxBenchmark.Options.parse(new String[] {"--smoke"});
        Optional<String> unavailable = UcxBenchmark.unavailable(options);
        Assumptions.assumeTrue(unavailable.isEmpty(), () -> "UCX benchmark cannot run here: " + unavailable.orElse(""));

        List<UcxBenchmark.Figures> all = UcxBenchmark.run(options);
        assertEquals(options.tls().size(), all.size());
        for (UcxBenchmark.Figures f : all) {
            String what = f.toString();
            // ucx_perftest's references.
            assertTrue(f.tagBw() > 0 && f.tagBw() < 1e6, what);
            assertTrue(f.tagLat() > 0 && f.tagLat() < 10_000_000, what);
            assertTrue(f.putBw() > 0 && f.putBw() < 1e6, what);
            // sanswitch through the engine: MiB/s and µs one way in plausible ranges for loopback.
            assertTrue(f.engineBw() > 0 && f.engineBw() < 1e6, what);
            assertTrue(f.engineLat() > 0 && f.engineLat() < 10_000_000, what);
            assertTrue(f.engineRdmaWrite() > 0 && f.engineRdmaWrite() < 1e6, what);
            assertTrue(Double.isFinite(f.throughputRatio()) && Double.isFinite(f.latencyRatio())
                    && Double.isFinite(f.rdmaWriteRatio()), what);
        }
        UcxBenchmark.printTable(all, System.out);
        System.out.println("smoke: the targets are not judged here");
    }

    @Test
    void ucxPerftestFinalLineIsParsed() {
        String out = """
                +--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
                |     Test     | # iterations | 50.0%ile | average | overall |  average |  overall |  average  |  overall  |
                +--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
                                      100000      0.171     0.177     0.178       43.19      43.20     5660902     5660903
                """;
        double[] n = UcxBenchmark.finalLine(out);
        assertEquals(100000, n[0]);
        assertEquals(0.178, n[3], 1e-9, "overall latency, µs one way");
        assertEquals(43.20, n[5], 1e-9, "overall bandwidth, MB/s = MiB/s");
    }

    /** On a loaded machine the averages of a report interval in which no iteration ended are "inf". */
    @Test
    void aFinalLineWithInfiniteAveragesIsParsed() {
        String out = """
                +--------------+--------------+------------------------------+---------------------+-----------------------+
                |              |              |       overhead (usec)        |   bandwidth (MB/s)  |  message rate (msg/s) |
                +--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
                |     Test     | # iterations | 50.0%ile | average | overall |  average |  overall |  average  |  overall  |
                +--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
                                        1000      0.080       inf  2913.891        0.00     343.18           0         343
                0m0.000s 0m0.010s
                0m0.893s 0m0.977s
                """;
        double[] n = UcxBenchmark.finalLine(out);
        assertEquals(1000, n[0]);
        assertEquals(Double.POSITIVE_INFINITY, n[2], "the interval's average latency");
        assertEquals(2913.891, n[3], 1e-9, "overall latency, µs one way");
        assertEquals(343.18, n[5], 1e-9, "overall bandwidth, MB/s = MiB/s");
    }
}
