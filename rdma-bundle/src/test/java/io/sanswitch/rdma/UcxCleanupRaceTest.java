package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Two UCX providers in one JVM cleaning up at once while sends, receives and RDMA writes and
 * reads are in flight between them ({@link CleanupRaceChild}, in a child JVM: a UCX abort kills
 * the process it happens in). The child must end normally after every round, each operation
 * having ended once with success or {@code WSA_OPERATION_ABORTED} and UCX holding no request of
 * ours any more.
 *
 * <p>UCX 1.13.1 aborts this process in many runs (docs/toolchain.md TC-22): the test runs
 * only when asked, with {@code -Ducx.cleanupRace.rounds=N} (rounds per child JVM) and optionally
 * {@code -Ducx.cleanupRace.runs=M} (child JVMs), so that CI stays green until that is fixed;
 * {@code -Drace.kinds=2,3} narrows the traffic to some kinds of operation and {@code -Drace.maxPosts=N}
 * caps the operations each poster makes ({@link CleanupRaceChild}).
 */
class UcxCleanupRaceTest {
    private static final String ROUNDS = "ucx.cleanupRace.rounds";
    private static final String RUNS = "ucx.cleanupRace.runs";

    // No @Checks: skipped by default, it certifies nothing until TC-22 is resolved.
    @Test
    void bothProvidersCleaningUpAtOnceWithOperationsInFlightEndNormally() throws Exception {
        String rounds = System.getProperty(ROUNDS);
        Assumptions.assumeTrue(rounds != null && !rounds.isBlank(),
                "UCX 1.13.1 can abort this race (docs/toolchain.md TC-22): run with -D" + ROUNDS + "=N");
        Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available: " + Ucx.unavailabilityCause());
        int runs = Integer.getInteger(RUNS, 1);
        int aborted = 0;
        StringBuilder report = new StringBuilder();
        for (int run = 1; run <= runs; run++) {
            Path log = Files.createTempFile("ucx-cleanup-race", ".log");
            try {
                List<String> command = List.of(
                        System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                        "-Xmx512m", "-Drace.kinds=" + System.getProperty("race.kinds", "0,1,2,3"),
                        "-Drace.maxPosts=" + Integer.getInteger("race.maxPosts", Integer.MAX_VALUE),
                        "-cp", System.getProperty("java.class.path"), CleanupRaceChild.class.getName(), rounds);
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(log.toFile());
                pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's signal handlers stay out of the JVM's way
                Process child = pb.start();
                boolean ended = child.waitFor(10L * 60, TimeUnit.SECONDS);
                if (!ended) {
                    child.destroyForcibly();
                }
                String output = tail(log);
                // Each run's rounds, cleanup durations and resets, for the figures in docs/toolchain.md TC-22.
                System.out.println("run " + run + ": " + Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                        .filter(l -> l.startsWith("round") || l.contains("cleanup took") || l.startsWith("DONE")
                                || l.contains("did not acknowledge"))
                        .map(l -> l.contains("did not acknowledge") ? "revocation timed out"
                                : l.substring(l.contains("cleanup took") ? l.indexOf("cleanup took") : 0))
                        .toList());
                assertTrue(ended, "the child JVM did not end in 10 minutes:\n" + output);
                assertTrue(!output.contains("FAILED round"), "run " + run + ": a rule broke:\n" + output);
                if (child.exitValue() != 0 || !output.contains("DONE " + rounds)) {
                    aborted++;
                    report.append("run ").append(run).append(" ended with ").append(child.exitValue()).append(":\n")
                            .append(output).append('\n');
                }
            } finally {
                Files.deleteIfExists(log);
            }
        }
        assertEquals(0, aborted, aborted + " of " + runs + " child JVMs aborted\n" + report);
    }

    /** The end of the child's output, without UCX's mpool leak lines (one per object). */
    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.contains("mpool.c") && !l.contains("tag_match.c")).toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
