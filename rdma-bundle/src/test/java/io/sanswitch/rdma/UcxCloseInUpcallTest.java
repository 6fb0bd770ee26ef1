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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.testing.Checks;

/**
 * {@code closeSocket} made from inside a completion upcall, on the UCX progress thread, while UCX
 * still queues sends of that socket on its shared-memory lane ({@link CloseInUpcallChild}, in a
 * child JVM: a UCX abort kills the process it happens in). UCX 1.13 aborts the process when an
 * endpoint is closed from inside the dispatch of that endpoint's pending queue (docs/toolchain.md
 * TC-23); the provider must keep the close out of the callback (docs/rules.md LC-reentrant-ucx).
 * Without that, the send variant aborted 8 of 10 child JVMs in their first round. The receive
 * variant (a receive completion comes from the lane's receive path, not from a pending queue) did
 * not abort without it (0 of 5 JVMs of 10 rounds); it checks the rest of the rule there: each
 * operation ends once, the closing side's with success or {@code WSA_OPERATION_ABORTED}, and UCX
 * holds no request of ours after the final cleanups. Rounds per child with
 * {@code -Ducx.closeInUpcall.rounds=N} (default 10), child JVMs with {@code -Ducx.closeInUpcall.runs=M}.
 */
class UcxCloseInUpcallTest {
    private static final String ROUNDS = "ucx.closeInUpcall.rounds";
    private static final String RUNS = "ucx.closeInUpcall.runs";

    @ParameterizedTest(name = "closeSocket in a {0} completion upcall")
    @ValueSource(strings = {"send", "recv"})
    @Checks("LC-reentrant-ucx")
    void closeSocketInsideACompletionUpcallLeavesTheProcessRunning(String upcall) throws Exception {
        Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available: " + Ucx.unavailabilityCause());
        String rounds = System.getProperty(ROUNDS, "10");
        int runs = Integer.getInteger(RUNS, 1);
        int aborted = 0;
        StringBuilder report = new StringBuilder();
        for (int run = 1; run <= runs; run++) {
            Path log = Files.createTempFile("ucx-close-in-upcall", ".log");
            try {
                List<String> command = List.of(
                        System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                        "-Xmx512m", "-XX:MaxDirectMemorySize=1g",
                        "-DcloseInUpcall.at=" + Integer.getInteger("closeInUpcall.at", 4),
                        "-DcloseInUpcall.sends=" + Integer.getInteger("closeInUpcall.sends", 64),
                        "-cp", System.getProperty("java.class.path"), CloseInUpcallChild.class.getName(), rounds,
                        upcall);
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(log.toFile());
                pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's signal handlers stay out of the JVM's way
                Process child = pb.start();
                boolean ended = child.waitFor(5L * 60, TimeUnit.SECONDS);
                if (!ended) {
                    child.destroyForcibly();
                }
                String output = tail(log);
                System.out.println(upcall + " run " + run + ": " + Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                        .filter(l -> l.startsWith("round") || l.startsWith("DONE") || l.startsWith("outcomes")
                                || l.contains("Assertion") || l.startsWith("FAILED"))
                        .toList());
                assertTrue(ended, "the child JVM did not end in 5 minutes:\n" + output);
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
