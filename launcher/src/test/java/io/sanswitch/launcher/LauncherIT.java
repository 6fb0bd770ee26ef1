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
        assertTrue(out.contains("SAN subnet 127.0.0.0/8 set through ConfigAdmin (PID io.sanswitch.switch, sanSubnets)"), out);
        assertTrue(out.contains("echo server: SocketSwitch.listen(")
                && (out.contains("listens over [tcp, ucx]") || out.contains("listens over [ucx, tcp]")), out);
        assertTrue(out.contains("0. warm-up, not timed: 2 clients pinned to ucx, then to tcp"), out);
        assertTrue(out.contains("1. 2 clients connect through the switch and echo 256 KiB chunks"), out);
        assertTrue(out.contains("client 1: connected over ucx (SAN_SUBNET)"), out);
        assertTrue(out.matches("(?s).*\\n\\s+ucx\\s+\\S+\\s+\\d+\\s+CONNECTED.*SAN_SUBNET: peer 127\\.0\\.0\\.1 on a SAN subnet\\n.*"),
                "san:sockets shows the switch's reason\n" + out);
        assertTrue(out.contains("2. stopping bundle io.sanswitch.rdma mid-transfer"), out);
        assertTrue(out.matches("(?s).*client \\d: connection over ucx broke: send \\S+, receive (WSA_OPERATION_ABORTED|WSAECONNRESET).*"),
                "a client's operations failing as it happens\n" + out);
        assertTrue(out.contains("client 1: reconnected over tcp (RDMA_PROVIDER_DOWN)"), out);
        assertTrue(out.contains("client 2: reconnected over tcp (RDMA_PROVIDER_DOWN)"), out);
        assertTrue(out.matches("(?s).*ucx\\s+\\d+\\s+\\d+\\s+TRANSPORT_LEAVING\\s+\\d+\\s+7\\s+\\d+ (µs|ms)\\s+0\\n.*"),
                "history row: the listener's ucx socket and both ends of 3 connections reset\n" + out);
        assertTrue(out.contains("moving from tcp to ucx (SAN_SUBNET)"), out);
        assertTrue(out.contains("RDMA_PROVIDER_DOWN: no RDMA provider running"), "san:sockets tcp during the fallback\n" + out);
        assertTrue(out.contains("\nsummary\n"), out);
        // Each phase's rate over its timed part, on the phase's provider, and the order stated with
        // the figures: its form only. Which provider wins is load's business, no test's.
        String row = "\\s+\\d+\\.\\d+ [KMG]iB\\s+\\d+\\.\\d+ [KMG]iB\\s+\\d+\\.\\ds\\s+";
        assertTrue(out.matches("(?s).*\\n\\s+0\\. warm-up, not timed" + row + "-\\s+-\\n.*"), "warm-up row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+1\\. echo over RDMA" + row + "ucx \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 1 row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+2\\. rdma stopped, on tcp" + row + "tcp \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 2 row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+3\\. rdma started again" + row + "ucx \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 3 row\n" + out);
        assertTrue(out.matches("(?s).*\\n   RDMA phases faster than TCP: (yes|no) "
                + "\\(ucx \\d+\\.\\d and \\d+\\.\\d MiB/s, tcp \\d+\\.\\d MiB/s\\)\\n.*"), "the order line\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+1\\s+ucx SAN_SUBNET -> tcp RDMA_PROVIDER_DOWN -> ucx SAN_SUBNET\\s+\\S.*"),
                "the summary's client table\n" + out);
        for (String check : new String[] {
            "warm-up echoed over ucx (",
            "the idle client's pending receive completed with WSA_OPERATION_ABORTED",
            "its next send failed with WSAECONNRESET",
            "the old ucx provider reference now answers WSANOTINITIALISED",
            "every client saw its operations fail, then reconnected over tcp",
            "the switch chose tcp for the reconnects: RDMA_PROVIDER_DOWN",
            "every client reconnected and is on ucx again (SAN_SUBNET)",
            "both providers RUNNING, each with one reference: the switch's"}) {
            assertTrue(out.contains("   ok     " + check), check + "\n" + out);
        }
        assertTrue(out.contains("demo finished: all 18 checks passed"), out);
        assertTrue(!out.contains("FAILED"), out);
    }

    @Test
    void withoutDemoTheGogoShellRunsTheSanCommandsAndStopsAtEndOfInput() throws Exception {
        Run run = launch("san:providers\nsan:bench tcp 1\nsan:cleanup-history\nsan:providers\nsan:sockets --help\n"
                + "san:bench nope\nsan:switch\nsan:route 127.0.0.1:5000\nsan:route localhost:5000\n"
                + "san:route '[::1]:5000'\n");
        assertEquals(0, run.exit(), run.output());
        String out = run.output();
        assertTrue(out.contains("PROVIDER  SERVICE  STATE    REFS  SOCKETS  PENDING  GEN  CLEANUPS"), out);
        // The switch started both providers with its own startup (bundle start = startup): RUNNING,
        // one reference, no socket of its own left open, generation 1, no final cleanup yet.
        assertTrue(out.matches("(?s).*\\ntcp\\s+\\d+\\s+RUNNING\\s+1\\s+0\\s+0\\s+1\\s+0\\n.*"), "tcp row\n" + out);
        assertTrue(out.matches("(?s).*\\nucx\\s+\\d+\\s+RUNNING\\s+1\\s+0\\s+0\\s+1\\s+0\\n.*"), "ucx row\n" + out);
        assertTrue(out.matches("(?s).*\\ntcp\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s\\s+\\d+\\s+\\d+ µs.*"),
                "bench row\n" + out);
        // The bench ran through the switch, pinned to tcp: it took no startup of its own, so it ran no
        // final cleanup, and both providers are as before, still on the switch's one reference.
        assertTrue(out.contains("No final cleanup yet\n"), "no final cleanup by the bench\n" + out);
        assertEquals(2, count(out, "(?m)^tcp\\s+\\d+\\s+RUNNING\\s+1\\s+\\d+\\s+\\d+\\s+1\\s+0$"),
                "tcp RUNNING with the switch's one reference and generation 1, before and after the bench\n" + out);
        assertEquals(2, count(out, "(?m)^ucx\\s+\\d+\\s+RUNNING\\s+1\\s+\\d+\\s+\\d+\\s+1\\s+0$"),
                "ucx untouched by a tcp bench\n" + out);
        assertTrue(out.contains("Usage: san:sockets [provider]"), out);
        assertTrue(out.contains("No provider 'nope'; registered: tcp, ucx"), out);
        // san:switch and san:route print through Felix Gogo's shell too: settings with their source,
        // the providers' roles, and the route to a peer off the (unconfigured) SAN subnets.
        assertTrue(out.matches("(?s).*\\nsanSubnets\\s+none\\s+default\\n.*"), "san:switch\n" + out);
        assertTrue(out.matches("(?s).*\\ntcp\\s+TCP: other peers, fallback\\s.*"), "san:switch\n" + out);
        assertTrue(out.matches("(?s).*\\n127\\.0\\.0\\.1:5000\\s+tcp\\s+127\\.0\\.0\\.1:5000\\s+NOT_ON_SAN_SUBNET\\s.*"),
                "san:route\n" + out);
        assertTrue(out.contains("'localhost:5000' is no HOST:PORT: 'localhost' is no literal IP address"), out);
        assertTrue(out.matches("(?s).*\\n\\[0:0:0:0:0:0:0:1\\]:5000\\s+tcp\\s+\\S+\\s+NOT_ON_SAN_SUBNET\\s.*"),
                "san:route with a quoted IPv6 peer\n" + out);
    }

    private static long count(String text, String regex) {
        return java.util.regex.Pattern.compile(regex).matcher(text).results().count();
    }
}
