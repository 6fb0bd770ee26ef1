package io.sanswitch.conformance;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace of the test's own with one link in it (a veth pair, one end holding a private
 * address, and loopback), in which a child JVM runs; the link can be removed while it runs. Nothing
 * outside the namespace is touched. Needs root and iproute2; {@link #cannotCreate()} says why not.
 */
final class LinkNamespace implements AutoCloseable {
    private static final AtomicInteger SERIAL = new AtomicInteger();
    // An address on a link that exists only inside the namespace.
    static final String ADDRESS = "10.254.78.1";

    private final String name;
    private final String link;
    private boolean created;

    LinkNamespace() {
        long pid = ProcessHandle.current().pid();
        int n = SERIAL.incrementAndGet();
        this.name = "ssw-kit-" + pid + "-" + n;
        this.link = "sswk" + pid % 100_000 + "n" + n;
    }

    /** Why this machine cannot run a test in a namespace of its own, or {@code null}. */
    static String cannotCreate() {
        if (!new File("/usr/sbin/ip").canExecute() && !new File("/sbin/ip").canExecute()
                && !new File("/usr/bin/ip").canExecute()) {
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

    /** Creates the namespace, its loopback and its link with {@link #ADDRESS}. */
    LinkNamespace create() throws Exception {
        run("ip", "netns", "add", name);
        created = true;
        try {
            configure();
        } catch (Exception | Error e) {
            close(); // a resource whose creation threw is never closed by try-with-resources
            throw e;
        }
        return this;
    }

    private void configure() throws Exception {
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
        // A veth pair with both ends inside (a dummy interface needs a module not every kernel has).
        run("ip", "netns", "exec", name, "ip", "link", "add", link, "type", "veth", "peer", "name", link + "p");
        run("ip", "netns", "exec", name, "ip", "addr", "add", ADDRESS + "/30", "dev", link);
        run("ip", "netns", "exec", name, "ip", "link", "set", link + "p", "up");
        run("ip", "netns", "exec", name, "ip", "link", "set", link, "up");
        awaitCarrier();
    }

    /**
     * Waits (bounded) until the link is up with its carrier: a veth end reports LOWER_UP a moment
     * after {@code ip link set up}, later under load, and UCX's tcp transport refuses a device
     * without it ("network device ... is not available"), so a provider started before that fails.
     */
    private void awaitCarrier() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String state = "";
        while (System.nanoTime() < deadline) {
            state = output("ip", "netns", "exec", name, "ip", "-o", "link", "show", "dev", link);
            if (state.contains("LOWER_UP") && state.contains("state UP")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(link + " in " + name + " has no carrier after 30 s: " + state);
    }

    /** The link goes away (both ends of the pair), and with it the address. */
    void removeLink() throws Exception {
        run("ip", "netns", "exec", name, "ip", "link", "del", link);
    }

    /** The link comes back as {@link #create()} made it (after {@link #removeLink()}). */
    void restoreLink() throws Exception {
        configure();
    }

    /** A JVM inside the namespace running {@code main} on this JVM's class path. */
    Process startJava(Class<?> main, Map<String, String> environment, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", name, java, "-cp",
                System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(environment);
        return pb.start();
    }

    /** The name of the link that holds {@link #ADDRESS}. */
    String link() {
        return link;
    }

    @Override
    public void close() throws Exception {
        if (created) {
            runQuietly("ip", "netns", "del", name);
        }
    }

    @Override
    public String toString() {
        return name + " (" + link + " " + ADDRESS + ")";
    }

    private static void run(String... command) throws Exception {
        output(command);
    }

    /** Runs {@code command}, returns what it printed; throws when it fails or takes over 30 s. */
    private static String output(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }

    private static int runQuietly(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
