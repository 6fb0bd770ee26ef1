package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two hosts, each in its own network namespace, joined by a veth pair: host A runs the provider
 * engine over the NIO transport ({@link NetnsEngineHost}), host B a plain java.net echo server
 * ({@link NetnsEchoPeer}). Data is exchanged, then the link is removed during a transfer: the
 * pending operations fail, the final cleanup reports {@code WSAENETDOWN}, nothing hangs and no
 * thread is left. The namespaces, the veth pair and both host processes are created and removed by
 * the test; it runs where it can create them (as root with iproute2, as CI does) and is skipped
 * with the reason printed elsewhere.
 */
@Timeout(180) // every wait below is bounded; this bounds their sum, should a child process hang the test
class NetworkNamespaceTest {
    private static final long PID = ProcessHandle.current().pid();
    private static final String NS_A = "ssw-a-" + PID;
    private static final String NS_B = "ssw-b-" + PID;
    private static final String VETH_A = "ssw" + PID % 100_000 + "a";
    private static final String VETH_B = "ssw" + PID % 100_000 + "b";
    // Addresses of the test's own two hosts, on a link that exists only inside this machine.
    private static final String HOST_A = "10.254.77.1";
    private static final String HOST_B = "10.254.77.2";
    private static final int PORT = 17_077;

    private final List<Process> hosts = new ArrayList<>();
    private boolean created;

    @BeforeEach
    void createHosts() throws Exception {
        String why = cannotCreateNamespaces();
        if (why != null) {
            System.out.println("NetworkNamespaceTest skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        created = true;
        run("ip", "netns", "add", NS_A);
        run("ip", "netns", "add", NS_B);
        run("ip", "link", "add", VETH_A, "netns", NS_A, "type", "veth", "peer", "name", VETH_B, "netns", NS_B);
        run("ip", "netns", "exec", NS_A, "ip", "addr", "add", HOST_A + "/30", "dev", VETH_A);
        run("ip", "netns", "exec", NS_B, "ip", "addr", "add", HOST_B + "/30", "dev", VETH_B);
        for (String[] end : new String[][] {{NS_A, VETH_A}, {NS_B, VETH_B}}) {
            run("ip", "netns", "exec", end[0], "ip", "link", "set", end[1], "up");
            run("ip", "netns", "exec", end[0], "ip", "link", "set", "lo", "up");
        }
        System.out.println("hosts: A " + HOST_A + " (" + VETH_A + " in " + NS_A + ") <-> B " + HOST_B + " (" + VETH_B
                + " in " + NS_B + ")");
    }

    @AfterEach
    void removeHosts() throws Exception {
        for (Process p : hosts) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (created) {
            runQuietly("ip", "netns", "del", NS_A);
            runQuietly("ip", "netns", "del", NS_B);
        }
    }

    private Process startIn(String ns, Class<?> main, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns, java, "-cp",
                System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        hosts.add(p);
        return p;
    }

    @Test
    @io.sanswitch.testing.Checks("LC-e")
    void dataCrossesTheLinkThenLosingItFailsPendingOperationsAndCleanupReportsNetworkDown() throws Exception {
        Process b = startIn(NS_B, NetnsEchoPeer.class, HOST_B, String.valueOf(PORT));
        BufferedReader bOut = reader(b);
        assertEquals("READY", bOut.readLine(), "the echo peer in " + NS_B + " did not start");

        Process a = startIn(NS_A, NetnsEngineHost.class, HOST_A, HOST_B, String.valueOf(PORT));
        BufferedReader aOut = reader(a);
        Map<String, String> report = new HashMap<>();
        String line;
        while ((line = aOut.readLine()) != null && !line.equals("TRANSFERRING")) {
            System.out.println("host A: " + line);
            record(report, line);
        }
        assertEquals("TRANSFERRING", line, "host A ended early: " + report);
        assertEquals("null", report.get("connect"), "host A connected to host B");
        assertEquals("true", report.get("echoed"), "1 MiB crossed the veth link and came back unchanged");

        // The link goes away during the transfer: host A's interface is removed.
        run("ip", "netns", "exec", NS_A, "ip", "link", "del", VETH_A);
        OutputStream aIn = a.getOutputStream();
        aIn.write("link removed\n".getBytes(StandardCharsets.UTF_8));
        aIn.flush();
        while ((line = aOut.readLine()) != null && !line.equals("DONE")) {
            System.out.println("host A: " + line);
            record(report, line);
        }
        assertEquals("DONE", line, "host A hung or died: " + report);
        assertTrue(a.waitFor(30, TimeUnit.SECONDS), "host A did not exit");

        System.out.printf("link removed during transfer: the pending send failed with %s after %s ms%n",
                report.get("send"), report.get("detectMillis"));
        assertEquals("WSAENETDOWN (10050)", report.get("send"), "the pending send across the lost link");
        assertEquals("1", report.get("sendUpcalls"), "completed exactly once");
        assertTrue(Set.of("data", "WSAENETDOWN (10050)").contains(report.get("recv")), report.get("recv"));
        assertEquals("WSAENETDOWN (10050)", report.get("cleanup"), "the final cleanup reports the failed network");
        assertEquals("0", report.get("openSockets"));
        assertEquals("false", report.get("running"));
        assertEquals("0", report.get("backendThreads"), "no backend thread left");
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    private static void record(Map<String, String> report, String line) {
        int eq = line.indexOf('=');
        if (eq > 0) {
            report.put(line.substring(0, eq), line.substring(eq + 1));
        }
    }

    /** Why this machine cannot run the test, or {@code null}. */
    private static String cannotCreateNamespaces() {
        if (!new File("/usr/sbin/ip").canExecute() && !new File("/sbin/ip").canExecute() && !new File("/usr/bin/ip").canExecute()) {
            return "iproute2 (ip) is not installed";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "creating network namespaces needs root (running as " + System.getProperty("user.name") + ")";
        }
        try {
            if (runQuietly("ip", "netns", "list") != 0) {
                return "'ip netns' does not work here";
            }
        } catch (Exception e) {
            return "'ip netns' does not work here: " + e;
        }
        return null;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", command) + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + output);
    }

    private static int runQuietly(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
