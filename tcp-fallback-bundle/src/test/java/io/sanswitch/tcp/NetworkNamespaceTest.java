package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Two hosts joined by a veth pair: this JVM on one end, a plain echo server in a network
 * namespace on the other. Data is exchanged, then the link is removed during a transfer: the
 * pending operations fail, the final cleanup reports {@code WSAENETDOWN}, nothing hangs and no
 * thread is left. The namespace, the veth pair and the peer process are created and removed by
 * the test; it runs where it can create them (as root with iproute2, as CI does) and is skipped
 * with the reason printed elsewhere.
 */
class NetworkNamespaceTest extends KitTestBase {
    private static final String NS = "ssw-b-" + ProcessHandle.current().pid();
    private static final String VETH_A = "ssw" + ProcessHandle.current().pid() % 100_000 + "a";
    private static final String VETH_B = "ssw" + ProcessHandle.current().pid() % 100_000 + "b";
    // Addresses of the test's own two hosts, on a link that exists only inside this machine.
    private static final String HOST_A = "10.254.77.1";
    private static final String HOST_B = "10.254.77.2";
    private static final int PORT = 17_077;

    private Process peer;
    private boolean created;

    @Override
    protected BackendUnderTest backend() {
        return new BackendUnderTest() {
            @Override
            public String name() {
                return "tcp over veth";
            }

            @Override
            public io.sanswitch.transport.Transport newTransport() {
                return new NioTransport(1, true);
            }

            @Override
            public InetAddress address() {
                try {
                    return InetAddress.getByName(HOST_A);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    @BeforeEach
    void createHosts() throws Exception {
        String why = cannotCreateNamespaces();
        if (why != null) {
            System.out.println("NetworkNamespaceTest skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        created = true;
        run("ip", "netns", "add", NS);
        run("ip", "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B);
        run("ip", "link", "set", VETH_B, "netns", NS);
        run("ip", "addr", "add", HOST_A + "/30", "dev", VETH_A);
        run("ip", "link", "set", VETH_A, "up");
        run("ip", "netns", "exec", NS, "ip", "addr", "add", HOST_B + "/30", "dev", VETH_B);
        run("ip", "netns", "exec", NS, "ip", "link", "set", VETH_B, "up");
        run("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up");
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        peer = new ProcessBuilder("ip", "netns", "exec", NS, java, "-cp", System.getProperty("java.class.path"),
                NetnsEchoPeer.class.getName(), HOST_B, String.valueOf(PORT)).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertEquals("READY", line, "the echo peer in " + NS + " did not start");
        System.out.println("hosts: " + HOST_A + " (" + VETH_A + ", this JVM) <-> " + HOST_B + " (" + VETH_B + " in " + NS + ")");
    }

    @AfterEach
    void removeHosts() throws Exception {
        if (peer != null) {
            peer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (created) {
            runQuietly("ip", "link", "del", VETH_A);
            runQuietly("ip", "netns", "del", NS);
        }
    }

    @Test
    void dataCrossesTheLinkThenLosingItFailsPendingOperationsAndCleanupReportsNetworkDown() throws Exception {
        a.startup();
        SocketHandle s = a.socket();
        a.engine.bind(s, new InetSocketAddress(HOST_A, 0));
        assertEquals(null, a.connect(s, new InetSocketAddress(HOST_B, PORT)));
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        a.send(s, data, Overlapped.Mode.NOTIFY);
        assertArrayEquals(data, a.receiveExactly(s, data.length, 1 << 16), "1 MiB echoed across the veth link");

        // A transfer in flight: a large send and a receive, then the link goes away.
        Overlapped bigSend = a.send(s, new byte[64 << 20], Overlapped.Mode.NOTIFY);
        List<Overlapped> pending = new ArrayList<>();
        pending.add(bigSend);
        Thread.sleep(100);
        run("ip", "link", "del", VETH_A);
        long removed = System.nanoTime();
        // Echoed bytes may still complete receives posted now; post until one fails.
        OverlappedResult failedReceive = null;
        for (int i = 0; i < 10_000 && failedReceive == null; i++) {
            try {
                OverlappedResult r = KitProvider.await(a.recv(s, 1 << 20, Overlapped.Mode.POLL).overlapped());
                if (!r.isSuccess()) {
                    failedReceive = r;
                }
            } catch (WsaException e) {
                assertEquals(WsaError.WSAENETDOWN, e.error(), "a call after the link was lost");
                break;
            }
        }
        OverlappedResult sendResult = KitProvider.await(bigSend);
        long detectedMillis = (System.nanoTime() - removed) / 1_000_000;
        System.out.printf("link removed during transfer: the pending send failed with %s after %d ms%n",
                sendResult.error(), detectedMillis);
        assertFalse(sendResult.isSuccess(), "the send across the lost link succeeded");
        assertEquals(WsaError.WSAENETDOWN, sendResult.error());
        assertEquals(1, a.upcalls.completionsOf(bigSend));
        if (failedReceive != null) {
            assertEquals(WsaError.WSAENETDOWN, failedReceive.error());
        }

        WsaException down = assertThrows(WsaException.class, a.engine::cleanup);
        assertEquals(WsaError.WSAENETDOWN, down.error());
        assertEquals(0, a.engine.openSockets());
        assertEquals(0, ((NioTransport) a.transport).openSockets());
        assertFalse(a.engine.isRunning());
        assertTrue(pending.stream().allMatch(Overlapped::isDone));
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
