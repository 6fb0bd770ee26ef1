package io.sanswitch.benchmarks;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * CI's short smoke run of the benchmark program: every measurement runs and yields a figure.
 * The performance targets are judged by the full run (see the class Javadoc of TcpBenchmark),
 * never here.
 */
@Timeout(120)
class TcpBenchmarkSmokeTest {

    @Test
    void everyMeasurementRunsAndYieldsAFigure() throws Exception {
        TcpBenchmark.Result r = TcpBenchmark.run(new TcpBenchmark.Options(0.3, 1));
        assertTrue(r.rawMiBps() > 0 && r.engineMiBps() > 0, r.toString());
        assertTrue(r.rawRttMicros() > 0 && Double.isFinite(r.engineRttMicros()) && r.engineRttMicros() > 0, r.toString());
        System.out.printf("smoke: throughput ratio %.3f, round-trip ratio %.3f (not judged here)%n", r.throughputRatio(),
                r.rttRatio());
    }
}
