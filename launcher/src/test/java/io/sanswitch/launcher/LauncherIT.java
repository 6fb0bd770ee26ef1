package io.sanswitch.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable jar as a newcomer runs it, in a child JVM: {@code --demo} exits 0 with its summary;
 * without it, the Gogo shell runs san:* commands piped to it and stops at the end of input, and an
 * operator hot swaps an embedded bundle there with {@code update <id>} and {@code refresh <id>}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LauncherIT {
    @TempDir
    Path dir;

    /** Runs the jar with {@code args}, feeding {@code input}; its exit code and everything it printed. */
    private record Run(int exit, String output) {
    }

    private static Path launcherJar() {
        String jar = System.getProperty("sanswitch.launcher.jar");
        assertTrue(jar != null && Files.isRegularFile(Path.of(jar)), "no launcher jar: " + jar);
        return Path.of(jar);
    }

    /** Starts the jar with {@code args}, everything it prints going to {@code log}. */
    private static Process start(Path log, String... args) throws IOException {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", launcherJar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("UCX_ERROR_SIGNALS", ""); // as a user's shell would have it after the README
        return pb.start();
    }

    private Run launch(String input, String... args) throws IOException, InterruptedException {
        Path log = dir.resolve("output.txt");
        Process p = start(log, args);
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
        assertTrue(out.contains("SAN subnet 127.0.0.0/8 set through ConfigAdmin (PID io.sanswitch.switch, sanSubnets; migrate on by default)"), out);
        assertTrue(out.contains("echo server: SocketSwitch.listen(")
                && (out.contains("listens over [tcp, ucx]") || out.contains("listens over [ucx, tcp]")), out);
        assertTrue(out.contains("0. warm-up, not timed: 2 clients pinned to ucx, to tcp, to ucx again"), out);
        assertTrue(out.contains("1. 2 clients connect through the switch and echo 256 KiB chunks"), out);
        assertTrue(out.contains("client 1: connected over ucx (SAN_SUBNET)"), out);
        assertTrue(out.matches("(?s).*\\n\\s+ucx\\s+\\S+\\s+\\d+\\s+CONNECTED.*SAN_SUBNET: peer 127\\.0\\.0\\.1 on a SAN subnet\\n.*"),
                "san:sockets shows the switch's reason\n" + out);
        assertTrue(out.contains("2. stopping bundle io.sanswitch.rdma mid-transfer"), out);
        assertFalse(out.contains("connection over ucx broke"), "no connection broke: the switch moved them (migrate on)\n" + out);
        assertTrue(out.matches("(?s).*\n   longest stall per client across the stop and the update: \\d+ ms, \\d+ ms\n.*"),
                "the stalls\n" + out);
        assertTrue(out.matches("(?s).*ucx\\s+\\d+\\s+\\d+\\s+TRANSPORT_LEAVING\\s+\\d+\\s+8\\s+\\d+ (µs|ms)\\s+0\\n.*"),
                "history row: the listener's and the resume port's ucx sockets and both ends of 3 connections reset\n" + out);
        assertTrue(out.contains("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet; moved ucx -> tcp (provider withdrawn, paused "),
                "san:sockets tcp after the move\n" + out);
        // Phase 3: the connections move back by themselves (SW-migrate-back); no client connects a second time.
        assertTrue(out.contains("3. starting bundle io.sanswitch.rdma (its new revision)"), out);
        assertTrue(out.matches("(?s).*\n   every connection on ucx again \\d+\\.\\d s after the start\n.*"), out);
        assertEquals(2, count(out, "(?m)^  client \\d: connected over ucx \\(SAN_SUBNET\\)$"),
                "each client connects once\n" + out);
        assertEquals(2, count(out, "(?m)^  client \\d: "), "and says nothing else: no break, no reconnect\n" + out);
        assertTrue(out.matches("(?s).*\n      ucx\\s+socket\\S+\\s+\\d+\\s+CONNECTED\\s.*SAN_SUBNET: peer 127\\.0\\.0\\.1 on a SAN subnet; "
                + "moved ucx -> tcp \\(provider withdrawn, paused \\d+ ms\\); moved tcp -> ucx \\(provider returned, paused \\d+ ms\\)\n.*"),
                "san:sockets ucx after the move back: both moves\n" + out);
        assertTrue(out.matches("(?s).*\n   longest stall per client across the start and the move back: \\d+ ms, \\d+ ms\n.*"),
                "the stalls of the move back\n" + out);
        assertTrue(out.contains("\nsummary\n"), out);
        // Each phase's rate over its timed part, on the phase's provider, and the order stated with
        // the figures: its form only. Which provider wins is load's business, no test's.
        String row = "\\s+\\d+\\.\\d+ [KMG]iB\\s+\\d+\\.\\d+ [KMG]iB\\s+\\d+\\.\\ds\\s+";
        assertTrue(out.matches("(?s).*\\n\\s+0\\. warm-up, not timed" + row + "-\\s+-\\n.*"), "warm-up row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+1\\. echo over RDMA" + row + "ucx \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 1 row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+2\\. rdma stopped, on tcp" + row + "tcp \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 2 row\n" + out);
        assertTrue(out.matches("(?s).*\\n\\s+3\\. moved back to ucx" + row + "ucx \\d+\\.\\ds\\s+\\d+\\.\\d MiB/s\\n.*"),
                "phase 3 row\n" + out);
        assertTrue(out.matches("(?s).*\\n   RDMA phases faster than TCP: (yes|no) "
                + "\\(ucx \\d+\\.\\d and \\d+\\.\\d MiB/s, tcp \\d+\\.\\d MiB/s\\)\\n.*"), "the order line\n" + out);
        assertTrue(out.matches("(?s).*\\n   moved back \\(phase 3\\) ÷ first over ucx \\(phase 1\\): \\d+\\.\\d\\d "
                + "\\(\\d+\\.\\d ÷ \\d+\\.\\d MiB/s\\): a moved-back connection's frames go over a switch connection over ucx.*"),
                "phase 3 against phase 1, with why\n" + out);
        for (int client = 1; client <= 2; client++) {
            assertTrue(out.matches("(?s).*\\n\\s+" + client + "\\s+ucx SAN_SUBNET -> tcp MOVED \\(PROVIDER_WITHDRAWN, paused \\d+ ms\\) "
                    + "-> ucx MOVED \\(PROVIDER_RETURNED, paused \\d+ ms\\)\\s+\\d+ ms \\(\\d+, \\d+\\)\\s+-\\n.*"),
                    "the summary's client table: client " + client + "'s one connection with both moves\n" + out);
        }
        for (String check : new String[] {
            "warm-up echoed over ucx (",
            "bundle io.sanswitch.rdma updated while stopped: a new revision",
            "the old ucx provider reference now answers WSANOTINITIALISED",
            "every client echoes over tcp on the connection it had: no reconnect",
            "no client saw an error",
            "choice() says MOVED from ucx (PROVIDER_WITHDRAWN) for every client's connection",
            "the idle client's receive still waits, its connection moved to tcp",
            "and its receive completes with the 4 bytes it sends the echo server now",
            "every client is on ucx again on the connection it had (MOVED, provider returned): no reconnect",
            "the echo server's end of each of the 3 connections says the same: [ucx (MOVED from tcp: PROVIDER_RETURNED",
            "the idle client moved back too and echoes 5 bytes over ucx on the connection it had",
            "data echoed over ucx again on the moved-back connections: ",
            "both providers RUNNING, each with one reference: the switch's"}) {
            assertTrue(out.contains("   ok     " + check), check + "\n" + out);
        }
        assertTrue(out.contains("demo finished: all 21 checks passed"), out);
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
        // one reference, one socket open, the switch's resume port (migrate on by default: docs/rules.md
        // SW-migrate-port over tcp, SW-migrate-back over ucx), generation 1, no final cleanup yet.
        assertTrue(out.matches("(?s).*\\ntcp\\s+\\d+\\s+RUNNING\\s+1\\s+1\\s+0\\s+1\\s+0\\n.*"), "tcp row\n" + out);
        assertTrue(out.matches("(?s).*\\nucx\\s+\\d+\\s+RUNNING\\s+1\\s+1\\s+0\\s+1\\s+0\\n.*"), "ucx row\n" + out);
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

    /**
     * Issue 13: an operator hot swaps the tcp and the rdma bundle in the launcher's shell as they
     * would anywhere, {@code update <id>} (the embedded jar read again from the bundle's location)
     * then {@code refresh <id>}, and {@code update <id> URL} from a jar of their own: each time the
     * bundle is ACTIVE in a new revision, its provider is back RUNNING as a new service on the
     * switch's reference, and connections through the switch work over both providers.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void updateAndRefreshInTheShellHotSwapAnEmbeddedBundleIntoANewRevision() throws Exception {
        Path ownJar = dir.resolve("tcp-of-my-own.jar");
        extractEmbedded("bundles/tcp-fallback-bundle-", ownJar);
        try (Shell shell = new Shell(start(dir.resolve("shell.txt")), dir.resolve("shell.txt"))) {
            String lb = shell.run("lb -s");
            long tcp = bundleId(lb, "io.sanswitch.tcp");
            long rdma = bundleId(lb, "io.sanswitch.rdma");

            hotSwap(shell, tcp, "tcp", "update " + tcp, 1);
            hotSwap(shell, rdma, "ucx", "update " + rdma, 1);
            hotSwap(shell, tcp, "tcp", "update " + tcp + " " + ownJar.toUri(), 2);
            // An update from a URL keeps the bundle's location: a later plain update reads the launcher's jar again.
            String locations = shell.run("lb -l");
            assertTrue(locations.matches("(?s).*\\n\\s*" + tcp
                    + "\\|Active\\s*\\|\\s*1\\|jar:file:/\\S+\\.jar!/bundles/tcp-fallback-bundle-\\S+\\.jar\\|.*"),
                    "the tcp bundle's location is a URL into the launcher jar\n" + locations);

            for (String provider : new String[] {"tcp", "ucx"}) {
                String bench = shell.run("san:bench " + provider + " 1");
                assertTrue(Pattern.compile("(?m)^" + provider + "\\s+\\d+\\.\\d [KMG]iB\\s+\\d+ ms\\s+\\d+\\.\\d [KMG]iB/s"
                        + "\\s+[1-9]\\d*\\s").matcher(bench).find(),
                        "a connection through the switch over the swapped " + provider + " provider\n" + bench);
            }
        }
    }

    /**
     * One swap as the operator types it, each step waited for by its positive signal: a provider
     * service new after the update, and another new one after the refresh (which runs in the background).
     */
    private static void hotSwap(Shell shell, long id, String provider, String update, int revision) throws Exception {
        Pattern row = Pattern.compile("(?m)^" + provider + "\\s+(\\d+)\\s+RUNNING\\s+1\\s");
        String before = shell.run("san:providers");
        Matcher old = row.matcher(before);
        assertTrue(old.find(), provider + " RUNNING before the swap\n" + before);
        String oldService = old.group(1);
        // Positive signals, one per step: update restarts the bundle itself (a first new service), and
        // the refresh that follows stops and starts it again in the background (a second one).
        String out = shell.run(update);
        assertFalse(out.contains("ERROR") || out.contains("Exception"), update + "\n" + out);
        String afterUpdate = awaitNewService(shell, row, Set.of(oldService), provider + " back after '" + update + "'");
        out = shell.run("refresh " + id);
        assertFalse(out.contains("ERROR") || out.contains("Exception"), "refresh " + id + "\n" + out);
        Pattern active = Pattern.compile("(?s).*\\nState\\s+32\\n.*");
        Pattern onlyNew = Pattern.compile("(?s).*\\nRevisions\\s+\\[\\S+ \\[" + id + "\\]\\(R " + id + "\\." + revision
                + "\\)\\]\\n.*");
        String newService = awaitNewService(shell, row, Set.of(oldService, afterUpdate),
                provider + " back after 'refresh " + id + "' (refresh restarts the bundle)");
        // The new service may come while the bundle is still STARTING: its state is asked until ACTIVE.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String bundle = shell.run("bundle " + id);
        while (!active.matcher(bundle).matches() && System.nanoTime() < deadline) {
            Thread.sleep(200);
            bundle = shell.run("bundle " + id);
        }
        assertTrue(active.matcher(bundle).matches(), "ACTIVE after '" + update + "' and refresh (service " + newService
                + ")\n" + bundle);
        assertTrue(onlyNew.matcher(bundle).matches(),
                "only the new revision " + id + "." + revision + " after '" + update + "' and refresh\n" + bundle);
    }

    /** Asks san:providers until {@code row} shows a service not in {@code seen}; its id. */
    private static String awaitNewService(Shell shell, Pattern row, Set<String> seen, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String now;
        do {
            now = shell.run("san:providers");
            Matcher m = row.matcher(now);
            if (m.find() && !seen.contains(m.group(1))) {
                return m.group(1);
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(what + ": no new service (not " + seen + ") within 120 s\n" + now);
    }

    private static long bundleId(String lb, String bsn) {
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)\\|Active\\s*\\|\\s*\\d+\\|" + Pattern.quote(bsn) + " ").matcher(lb);
        assertTrue(m.find(), bsn + " in lb -s\n" + lb);
        return Long.parseLong(m.group(1));
    }

    private static void extractEmbedded(String prefix, Path target) throws IOException {
        try (JarFile jar = new JarFile(launcherJar().toFile())) {
            JarEntry entry = jar.stream().filter(e -> e.getName().startsWith(prefix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + prefix + "* in " + jar.getName()));
            try (InputStream in = jar.getInputStream(entry)) {
                Files.copy(in, target);
            }
        }
    }

    /**
     * The launcher's shell driven one command at a time, as an operator types: each command is
     * followed by an {@code echo} of a numbered mark, and its output is what the shell printed
     * before that mark.
     */
    private static final class Shell implements AutoCloseable {
        private final Process process;
        private final Path log;
        private final OutputStream stdin;
        private int marks;
        private int consumed;

        Shell(Process process, Path log) {
            this.process = process;
            this.log = log;
            this.stdin = process.getOutputStream();
        }

        String run(String command) throws IOException, InterruptedException {
            String mark = "end-of-command-" + ++marks;
            stdin.write((command + "\necho " + mark + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            Pattern end = Pattern.compile("(?m)" + mark + "$");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                // bytes, not readString: the log may end inside a multi-byte character
                String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
                Matcher m = end.matcher(text);
                if (m.find(consumed)) {
                    String out = text.substring(consumed, m.start());
                    consumed = m.end();
                    return out;
                }
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("no output of '" + command + "' (alive: " + process.isAlive() + "):\n"
                            + text);
                }
                Thread.sleep(50);
            }
        }

        @Override
        public void close() throws IOException, InterruptedException {
            stdin.close(); // the shell's end of input stops the framework
            boolean ended = process.waitFor(60, TimeUnit.SECONDS);
            String output = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
            System.out.println(output);
            if (!ended) {
                process.destroyForcibly();
            }
            assertTrue(ended && process.exitValue() == 0, "the launcher ends with 0 at the end of input\n" + output);
        }
    }

    private static long count(String text, String regex) {
        return java.util.regex.Pattern.compile(regex).matcher(text).results().count();
    }
}
