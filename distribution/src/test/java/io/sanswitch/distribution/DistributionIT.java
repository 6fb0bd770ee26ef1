package io.sanswitch.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The distribution as an operator gets it: the archive the build made, unpacked, started with
 * {@code bin/karaf server}, reached with {@code bin/client} as the README says, stopped with
 * {@code bin/stop}. The sanswitch feature must be up at boot (its bundles Active, the switch running
 * both providers, which needs UCX in Karaf's JVM) with {@code UCX_ERROR_SIGNALS} empty in that JVM
 * although this test's own environment sets it to something else (the pom does): bin/setenv set it.
 */
class DistributionIT {
    private static final Duration START = Duration.ofSeconds(180);
    private static final Duration STOP = Duration.ofSeconds(60);
    private static final List<String> BUNDLES = List.of("io.sanswitch.api", "io.sanswitch.core", "io.sanswitch.tcp",
            "io.sanswitch.rdma", "io.sanswitch.shell.karaf");

    private Path work;
    private Path home;
    private Process karaf;

    @BeforeEach
    void unpack() throws Exception {
        Path archive = Path.of(System.getProperty("sanswitch.distribution.archive"));
        assertTrue(Files.isRegularFile(archive), "the build made no archive " + archive);
        work = Path.of(System.getProperty("sanswitch.distribution.work"));
        deleteTree(work);
        Files.createDirectories(work);
        // tar keeps the scripts' executable bits, which java.util.zip would not know about
        run(work, Duration.ofSeconds(60), "tar", "xzf", archive.toString());
        try (Stream<Path> top = Files.list(work)) {
            List<Path> dirs = top.filter(Files::isDirectory).toList();
            assertEquals(1, dirs.size(), "one top directory in the archive: " + dirs);
            home = dirs.get(0);
        }
    }

    @AfterEach
    void stopAndCleanUp() throws Exception {
        if (karaf != null && karaf.isAlive()) {
            // the test failed before its stop: end the JVM and its start script, then keep the tree for a look
            karaf.descendants().forEach(ProcessHandle::destroyForcibly);
            karaf.destroyForcibly();
            karaf.waitFor(30, TimeUnit.SECONDS);
        } else if (karaf != null && karaf.exitValue() == 0) {
            deleteTree(work);
        }
    }

    @Test
    void startsFromItsArchiveWithTheSanswitchFeatureAndStopsAgain() throws Exception {
        int sshPort = freePort();
        Path shellCfg = home.resolve("etc/org.apache.karaf.shell.cfg");
        String cfg = Files.readString(shellCfg);
        assertTrue(cfg.contains("sshHost = 127.0.0.1"), "the console listens on this machine only:\n" + cfg);
        Files.writeString(shellCfg, cfg.replace("sshPort = 8101", "sshPort = " + sshPort));

        Path console = work.resolve("console.txt");
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server")
                .directory(home.toFile()).redirectErrorStream(true).redirectOutput(console.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        assertEquals("SIGSEGV", System.getenv("UCX_ERROR_SIGNALS"), "the pom gives this test a non-empty value");
        karaf = pb.start();
        long deadline = System.nanoTime() + START.toNanos();

        Path log = home.resolve("data/log/karaf.log");
        await(deadline, "the switch running both providers (karaf.log)", () -> {
            String text = read(log);
            return text.contains("provider tcp started for the switch")
                    && text.contains("provider ucx started for the switch");
        });

        String bundles = null;
        while (System.nanoTime() < deadline) {
            bundles = client(sshPort, "bundle:list -s -t 0");
            if (allActive(bundles)) {
                break;
            }
            Thread.sleep(1000);
        }
        if (!allActive(bundles)) {
            fail("bin/client did not list " + BUNDLES + " Active within " + START + ":\n" + bundles + diagnostics());
        }

        ProcessHandle jvm = karaf.descendants().filter(p -> p.info().command().orElse("").endsWith("java"))
                .findFirst().orElseThrow(() -> new AssertionError("no java process under bin/karaf" + diagnostics()));
        List<String> env = environment(jvm.pid());
        assertTrue(env.contains("UCX_ERROR_SIGNALS="), "bin/setenv sets UCX_ERROR_SIGNALS empty in Karaf's JVM: "
                + env.stream().filter(e -> e.startsWith("UCX")).toList());

        everySanCommandPrintsThroughBinClient(sshPort);

        String stop = run(home, STOP, home.resolve("bin/stop").toString());
        if (!karaf.waitFor(STOP.toSeconds(), TimeUnit.SECONDS)) {
            fail("bin/karaf still running " + STOP + " after bin/stop (" + stop + ")" + diagnostics());
        }
        assertEquals(0, karaf.exitValue(), "bin/karaf's exit code" + diagnostics());
        assertTrue(jvm.onExit().get(STOP.toSeconds(), TimeUnit.SECONDS) != null && !jvm.isAlive());
    }

    /**
     * Each san:* command as an operator scripts it: one per {@code bin/client} exec, then all in one
     * {@code bin/client -b} reading them from stdin. Both print only what a command writes to its
     * session, so a command that returned its text would print nothing here. The distribution has no
     * SAN subnet configured: a route to loopback is tcp, NOT_ON_SAN_SUBNET.
     */
    private void everySanCommandPrintsThroughBinClient(int sshPort) throws Exception {
        Map<String, Pattern> expected = new LinkedHashMap<>();
        expected.put("san:providers", Pattern.compile(
                "(?sm)PROVIDER\\s+SERVICE\\s+STATE\\s+REFS\\s+SOCKETS\\s+PENDING\\s+GEN\\s+CLEANUPS\\s*\\n"
                        + "(?=.*^ucx\\s+\\d+\\s+RUNNING\\s)(?=.*^tcp\\s+\\d+\\s+RUNNING\\s).*"));
        expected.put("san:sockets", Pattern.compile("(?s)(No open sockets|PROVIDER\\s+SOCKET\\s+HANDLE\\s+ROLE\\s).*"));
        expected.put("san:cleanup-history", Pattern.compile("(?s)(No final cleanup yet|WHEN\\s+PROVIDER\\s+SERVICE\\s).*"));
        expected.put("san:switch", Pattern.compile("(?sm)SETTING\\s+VALUE\\s+SOURCE\\s*\\n(?=.*^sanSubnets\\s)"
                + "(?=.*^connectTimeoutMillis\\s+\\d+\\s)(?=.*^ucx\\s+RDMA)(?=.*^tcp\\s+TCP).*"));
        expected.put("san:route 127.0.0.1:5000", Pattern.compile("(?s)PEER\\s+PROVIDER\\s+CONNECTS TO\\s+REASON\\s+DETAIL\\s*\\n"
                + "127\\.0\\.0\\.1:5000\\s+tcp\\s+127\\.0\\.0\\.1:5000\\s+NOT_ON_SAN_SUBNET\\s+peer 127\\.0\\.0\\.1 on no SAN subnet.*"));
        expected.put("san:bench tcp 1", Pattern.compile("(?s)PROVIDER\\s+BYTES\\s+TIME\\s+RATE\\s.*\\ntcp\\s+\\d+(\\.\\d)? (B|KiB|MiB|GiB)\\s.*"
                + "\\nMEMORY\\s+RESIDENT\\s.*"));

        for (Map.Entry<String, Pattern> e : expected.entrySet()) {
            String printed = client(sshPort, e.getKey());
            assertPrinted(e.getKey(), e.getValue(), printed, "bin/client \"" + e.getKey() + "\"");
        }

        Path commands = work.resolve("batch.txt");
        Files.writeString(commands, String.join("\n", expected.keySet()) + "\n");
        String batch = run(home, Duration.ofSeconds(60), commands, home.resolve("bin/client").toString(), "-h",
                "127.0.0.1", "-a", Integer.toString(sshPort), "-u", "karaf", "-p", "karaf", "-r", "10", "-d", "2", "-b");
        assertTrue(batch.startsWith("exit 0\n"), "bin/client -b failed:\n" + batch + diagnostics());
        // Each command's output in the batch's, in the order given: its header (or its one line).
        List<String> markers = List.of("PROVIDER\\s+SERVICE\\s+STATE", "No open sockets|PROVIDER\\s+SOCKET\\s+HANDLE",
                "No final cleanup yet|WHEN\\s+PROVIDER", "SETTING\\s+VALUE\\s+SOURCE",
                "127\\.0\\.0\\.1:5000\\s+tcp\\s+127\\.0\\.0\\.1:5000\\s+NOT_ON_SAN_SUBNET", "PROVIDER\\s+BYTES\\s+TIME");
        int at = 0;
        for (String marker : markers) {
            java.util.regex.Matcher m = Pattern.compile(marker).matcher(batch);
            assertTrue(m.find(at), "bin/client -b printed no /" + marker + "/ after offset " + at + " (commands "
                    + expected.keySet() + "):\n" + batch);
            at = m.end();
        }
        for (String word : List.of("RUNNING", "NOT_ON_SAN_SUBNET", "SETTING", "MEMORY")) {
            assertTrue(batch.contains(word), "bin/client -b printed no " + word + ":\n" + batch);
        }
    }

    private void assertPrinted(String command, Pattern expected, String printed, String how) {
        assertTrue(printed.startsWith("exit 0\n"), how + " failed:\n" + printed + diagnostics());
        String text = printed.substring("exit 0\n".length()).replace("\r\n", "\n");
        assertFalse(text.isBlank(), how + " printed nothing: the command returned its text instead of writing it");
        assertTrue(expected.matcher(text).matches(), how + " printed no well-formed " + command + " output (expected "
                + expected + "):\n" + text);
    }

    // ------------------------------------------------------------------ helpers

    private static boolean allActive(String bundleList) {
        if (bundleList == null) {
            return false;
        }
        return BUNDLES.stream().allMatch(bsn -> bundleList.lines()
                .anyMatch(l -> l.contains("Active") && l.trim().endsWith(bsn)));
    }

    /** One command through bin/client, as the README shows it, with the user the distribution enables. */
    private String client(int port, String command) throws Exception {
        return run(home, Duration.ofSeconds(60), home.resolve("bin/client").toString(), "-h", "127.0.0.1",
                "-a", Integer.toString(port), "-u", "karaf", "-p", "karaf", "-r", "10", "-d", "2", command);
    }

    /** Runs a command to its end (bounded) and returns its output, exit code first. */
    private String run(Path dir, Duration limit, String... command) throws Exception {
        return run(dir, limit, null, command);
    }

    /** The same with standard input read from {@code input} (none when null). */
    private String run(Path dir, Duration limit, Path input, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        if (input != null) {
            pb.redirectInput(input.toFile());
        }
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Path out = Files.createTempFile(work, "out", ".txt");
        Process p = pb.redirectOutput(out.toFile()).start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(String.join(" ", command) + " still running after " + limit + ":\n" + read(out) + diagnostics());
        }
        String text = read(out);
        Files.delete(out);
        if (command[0].equals("tar") && p.exitValue() != 0) {
            fail("tar exited with " + p.exitValue() + ":\n" + text);
        }
        return "exit " + p.exitValue() + "\n" + text;
    }

    private void await(long deadline, String what, BooleanSupplier condition) throws Exception {
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0 || !karaf.isAlive()) {
                fail((karaf.isAlive() ? "no " + what + " within " + START : "bin/karaf ended (exit " + karaf.exitValue()
                        + ") before " + what) + diagnostics());
            }
            Thread.sleep(250);
        }
    }

    /** The last lines of Karaf's log and console, for a failure message. */
    private String diagnostics() {
        return "\n--- data/log/karaf.log (tail) ---\n" + tail(home.resolve("data/log/karaf.log"), 60)
                + "\n--- console (tail) ---\n" + tail(work.resolve("console.txt"), 20);
    }

    private static String tail(Path file, int lines) {
        List<String> all = read(file).lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static List<String> environment(long pid) throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
        List<String> vars = new ArrayList<>();
        for (String v : new String(raw, StandardCharsets.UTF_8).split("\0")) {
            vars.add(v);
        }
        return vars;
    }

    /**
     * A free port below Linux's ephemeral range (32768 up): a port the kernel handed out may be taken
     * by any outgoing connection before Karaf binds it.
     */
    private static int freePort() throws IOException {
        IOException last = null;
        for (int i = 0; i < 100; i++) {
            int port = ThreadLocalRandom.current().nextInt(10_000, 32_000);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException busy) {
                last = busy;
            }
        }
        throw last;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
