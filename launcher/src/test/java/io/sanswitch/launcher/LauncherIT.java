package io.sanswitch.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable jar as a newcomer runs it, in a child JVM: {@code --demo} exits 0 with its summary;
 * without it, the Gogo shell runs san:* commands piped to it and stops at the end of input.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LauncherIT {
    @TempDir
    Path dir;

    /** Runs the jar with {@code args}, feeding {@code input}; its exit code and everything it printed. */
    private record Run(int exit, String output) {
    }

    private Run launch(String input, String... args) throws IOException, InterruptedException {
        String jar = System.getProperty("sanswitch.launcher.jar");
        assertTrue(jar != null && Files.isRegularFile(Path.of(jar)), "no launcher jar: " + jar);
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar));
        command.addAll(List.of(args));
        Path log = dir.resolve("output.txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("UCX_ERROR_SIGNALS", ""); // as a user's shell would have it after the README
        Process p = pb.start();
        try (OutputStream stdin = p.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(150, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the launcher did not end in 150 s:\n" + Files.readString(log));
        }
        String output = Files.readString(log);
        System.out.println(output);
        return new Run(p.exitValue(), output);
    }

    @Test
    void demoRunsEveryStepAndExitsZeroWithItsSummary() throws Exception {
        Run run = launch("", "--demo");
        assertEquals(0, run.exit(), run.output());
        String out = run.output();
        assertTrue(out.contains("1. 2 clients echo 256 KiB chunks over RDMA (provider ucx"), out);
        assertTrue(out.contains("2. stopping bundle io.sanswitch.rdma mid-transfer"), out);
        assertTrue(out.contains("falling back to tcp"), out);
        assertTrue(out.matches("(?s).*ucx\\s+\\d+\\s+\\d+\\s+TRANSPORT_LEAVING\\s+\\d+\\s+\\d+.*"), "history row\n" + out);
        assertTrue(out.contains("moving from tcp to ucx"), out);
        assertTrue(out.contains("\nsummary\n"), out);
        assertTrue(out.contains("demo finished: all 11 checks passed"), out);
        assertTrue(!out.contains("FAILED"), out);
    }

    @Test
    void withoutDemoTheGogoShellRunsTheSanCommandsAndStopsAtEndOfInput() throws Exception {
        Run run = launch("san:providers\nsan:bench tcp 1\nsan:cleanup-history\nsan:sockets --help\nsan:bench nope\n");
        assertEquals(0, run.exit(), run.output());
        String out = run.output();
        assertTrue(out.contains("PROVIDER  SERVICE  STATE  REFS  SOCKETS  PENDING  GEN  CLEANUPS"), out);
        assertTrue(out.matches("(?s).*\\ntcp\\s+\\d+\\s+IDLE\\s+0\\s+0\\s+0\\s+0\\s+0\\n.*"), "tcp row\n" + out);
        assertTrue(out.matches("(?s).*\\nucx\\s+\\d+\\s+IDLE\\s+0\\s+0\\s+0\\s+0\\s+0\\n.*"), "ucx row\n" + out);
        assertTrue(out.matches("(?s).*\\ntcp\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s\\s+\\d+\\s+\\d+ µs.*"),
                "bench row\n" + out);
        assertTrue(out.matches("(?s).*\\s+tcp\\s+\\d+\\s+1\\s+COUNT_REACHED_ZERO\\s+0\\s+0\\s+\\d+ (µs|ms)\\s+0\\n.*"),
                "the bench's own final cleanup in the history\n" + out);
        assertTrue(out.contains("Usage: san:sockets [provider]"), out);
        assertTrue(out.contains("No provider 'nope'; registered: tcp, ucx"), out);
    }
}
