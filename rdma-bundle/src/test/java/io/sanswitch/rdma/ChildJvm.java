package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A child JVM running rounds of a UCX program (a UCX abort kills the process it happens in, so it
 * must not be the build's): this test JVM's class path, {@code UCX_ERROR_SIGNALS} empty (UCX's
 * signal handlers stay out of the JVM's way). A hang or a broken rule ({@code FAILED round} in its
 * output) fails the test at once; a child that did not end normally after every round (exit status
 * 0 and {@code DONE <rounds>}) is counted and reported by {@link Runs}.
 */
final class ChildJvm {
    private ChildJvm() {
    }

    /** The child JVMs of one test: how many aborted, with their output. */
    static final class Runs {
        private int aborted;
        private final StringBuilder report = new StringBuilder();

        /**
         * Runs {@code main} with {@code args} in a child JVM with {@code options}, {@code rounds} of it.
         *
         * @param summary what of the child's lines this test prints, for its figures
         */
        void run(String label, List<String> options, Class<?> main, String rounds, List<String> args, Duration limit,
                Function<List<String>, List<String>> summary) throws IOException, InterruptedException {
            Path log = Files.createTempFile("ucx-child", ".log");
            try {
                List<String> command = new ArrayList<>();
                command.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
                command.addAll(options);
                command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName(), rounds));
                command.addAll(args);
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
                pb.environment().put("UCX_ERROR_SIGNALS", "");
                Process child = pb.start();
                boolean ended = child.waitFor(limit.toSeconds(), TimeUnit.SECONDS);
                if (!ended) {
                    child.destroyForcibly();
                }
                String output = tail(log);
                System.out.println(label + ": " + summary.apply(Files.readAllLines(log, StandardCharsets.UTF_8)));
                assertTrue(ended, label + ": the child JVM did not end in " + limit.toMinutes() + " minutes:\n" + output);
                assertTrue(!output.contains("FAILED round"), label + ": a rule broke:\n" + output);
                if (child.exitValue() != 0 || !output.contains("DONE " + rounds)) {
                    aborted++;
                    report.append(label).append(" ended with ").append(child.exitValue()).append(":\n").append(output)
                            .append('\n');
                }
            } finally {
                Files.deleteIfExists(log);
            }
        }

        void assertNoneAborted(int runs) {
            assertEquals(0, aborted, aborted + " of " + runs + " child JVMs aborted\n" + report);
        }
    }

    /** The end of the child's output, without UCX's mpool leak lines (one per object). */
    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.contains("mpool.c") && !l.contains("tag_match.c")).toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
