package io.sanswitch.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.launch.Framework;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.transport.TransportProperties;

/**
 * {@code java -jar sanswitch-launcher.jar [--demo] [--headless] [--verbose]}: starts Apache Felix
 * with SCR, ConfigAdmin, Gogo and the sanswitch bundles embedded in this jar (under
 * {@code bundles/}), then either runs the demo and exits with its verdict, or leaves the Gogo
 * shell open for exploring ({@code san:providers}, {@code san:bench}, ...).
 *
 * <p>A self-written main rather than a bnd-exported .bndrun: the bundle list is the module's
 * dependency list, so a plain {@code mvn verify} from a fresh clone builds it with no resolver
 * step to keep in sync (docs/toolchain.md TC-11).
 */
public final class Main {
    static final String USAGE = """
            Usage: java -jar sanswitch-launcher.jar [--demo] [--headless] [--verbose]
              (no option)  Apache Felix with the sanswitch bundles and the Gogo shell: try
                           san:providers, san:sockets, san:switch, san:route HOST:PORT,
                           san:bench, san:cleanup-history, lb.
                           The shell reads standard input; at its end (Ctrl-D) the framework stops.
              --demo       run the demo (echo over RDMA, the rdma bundle stopped mid-transfer,
                           fallback to TCP, restart, summary) and exit: 0 if every step behaved
              --headless   no shell; keep the framework running until the process is stopped
              --verbose    the bundles' INFO log lines too (default: warnings only)
            """;
    static final String DEMO_BSN = "io.sanswitch.demo";
    static final String SHELL_BSN = "org.apache.felix.gogo.shell";
    /** Set in the child this main starts when UCX_ERROR_SIGNALS was missing, so it never loops. */
    static final String REEXEC_MARK = "sanswitch.launcher.reexec";

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        boolean demo = false;
        boolean headless = false;
        boolean verbose = false;
        for (String a : args) {
            switch (a) {
                case "--demo" -> demo = true;
                case "--headless" -> headless = true;
                case "--verbose" -> verbose = true;
                case "-h", "--help" -> {
                    System.out.print(USAGE);
                    return;
                }
                default -> {
                    System.err.print("Unknown option " + a + "\n" + USAGE);
                    System.exit(64);
                }
            }
        }
        if (demo && headless) {
            System.err.print("--demo and --headless exclude each other\n" + USAGE);
            System.exit(64);
        }
        if (System.getenv("UCX_ERROR_SIGNALS") == null && System.getProperty(REEXEC_MARK) == null) {
            System.exit(reexecWithUcxSignalsOff(args));
        }
        System.exit(run(demo, headless, verbose));
    }

    /**
     * UCX's own signal handlers take the JVM's signals (openucx/ucx#3337) unless
     * UCX_ERROR_SIGNALS is set, and a process cannot set its own environment: run this main
     * again in a child JVM with it set empty, so that one command works.
     */
    private static int reexecWithUcxSignalsOff(String[] args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-D" + REEXEC_MARK + "=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        pb.environment().put("UCX_ERROR_SIGNALS", "");
        // UCX warns about unmatched messages of connections the demo resets on purpose; keep the
        // newcomer's screen to errors unless the user chose a level.
        pb.environment().putIfAbsent("UCX_LOG_LEVEL", "error");
        Process child = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(child::destroy, "sanswitch-launcher-child-stop"));
        return child.waitFor();
    }

    static int run(boolean demo, boolean headless, boolean verbose) throws Exception {
        // slf4j-simple reads system properties; only warnings unless asked, so the demo's lines
        // are not buried under the bundles' INFO lines.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "info" : "warn"));
        Path storage = Files.createTempDirectory("sanswitch-felix-");
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        if (headless) {
            // docs/toolchain.md TC-8: without it the shell stops the framework as soon as stdin is closed.
            config.put("gosh.args", "--nointeractive");
        }
        Framework framework = new FrameworkFactory().newFramework(config);
        Thread stopOnExit = new Thread(() -> stop(framework), "sanswitch-launcher-stop");
        try {
            framework.init();
            // In demo mode there is no console: the demo uses Gogo's runtime for the san:* commands.
            List<Bundle> installed = installEmbeddedBundles(framework.getBundleContext(), demo ? SHELL_BSN : null);
            framework.start();
            Runtime.getRuntime().addShutdownHook(stopOnExit);
            Bundle shell = null;
            for (Bundle b : installed) {
                if (SHELL_BSN.equals(b.getSymbolicName())) {
                    shell = b;
                } else if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                    b.start();
                }
            }
            // The shell reads its first line at once: start it only once the san commands and the
            // providers are there (SCR activates them asynchronously), so piped commands find them.
            BundleContext context = framework.getBundleContext();
            await(context, "(osgi.command.scope=san)", 10_000);
            // A compile-time constant: inlined, so main's class loader never loads the api's class.
            await(context, "(" + TransportProperties.TRANSPORT + "=tcp)", 10_000);
            if (!await(context, "(" + TransportProperties.TRANSPORT + "=ucx)", 5_000)) {
                System.out.println("sanswitch: the ucx provider is not registered: UCX is not usable here "
                        + "(on Debian 12: sudo apt-get install libucx0); the tcp provider works without it.");
            }
            if (demo) {
                return runDemo(context);
            }
            System.out.println("sanswitch: Apache Felix " + framework.getVersion() + " with " + installed.size()
                    + " bundles. Commands: san:providers, san:sockets, san:switch, san:route HOST:PORT, "
                    + "san:bench [provider] [seconds], "
                    + "san:cleanup-history, lb, help." + (headless ? " Headless: stop the process to end."
                    : " Ctrl-D or 'stop 0' ends."));
            if (shell != null) {
                shell.start();
            }
            FrameworkEvent end = framework.waitForStop(0);
            return end.getType() == FrameworkEvent.ERROR ? 1 : 0;
        } finally {
            stop(framework);
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run
            }
            deleteTree(storage);
        }
    }

    /** Calls the demo bundle's {@code Demo.run(BundleContext, PrintStream, boolean)}: no shared types needed. */
    private static int runDemo(BundleContext context) throws Exception {
        Bundle demo = null;
        for (Bundle b : context.getBundles()) {
            if (DEMO_BSN.equals(b.getSymbolicName())) {
                demo = b;
            }
        }
        if (demo == null || demo.getState() != Bundle.ACTIVE) {
            System.err.println("the demo bundle " + DEMO_BSN + " is missing or not active: " + demo);
            return 2;
        }
        Method run = demo.loadClass("io.sanswitch.demo.Demo").getMethod("run", BundleContext.class,
                PrintStream.class, boolean.class);
        try {
            return (Integer) run.invoke(null, context, System.out, System.console() != null);
        } catch (InvocationTargetException e) {
            System.err.println("the demo failed with an exception:");
            e.getCause().printStackTrace();
            return 1;
        }
    }

    /**
     * Installs every bundles/*.jar of this jar (or of the classes folder when run from a build),
     * each from a location the JDK can open: {@code jar:file:/.../sanswitch-launcher.jar!/bundles/x.jar}
     * or {@code file:/.../classes/bundles/x.jar}. Felix reads a bundle's location again on a plain
     * {@code update <id>}, so the shell's hot swap re-reads the embedded jar with no URL to type, and
     * {@code lb -l} shows where each bundle came from.
     */
    static List<Bundle> installEmbeddedBundles(BundleContext context, String skipBsnPrefix)
            throws IOException, BundleException, URISyntaxException {
        List<Bundle> installed = new ArrayList<>();
        Path self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (String location : embeddedBundleLocations(self)) {
            add(context, installed, location, skipBsnPrefix);
        }
        if (installed.isEmpty()) {
            throw new IllegalStateException("no bundles/*.jar found in " + self);
        }
        return installed;
    }

    /** The URLs of the bundles/*.jar under {@code self} (a jar or a classes folder), sorted by name. */
    static List<String> embeddedBundleLocations(Path self) throws IOException {
        if (Files.isDirectory(self)) {
            try (Stream<Path> jars = Files.list(self.resolve("bundles"))) {
                return jars.filter(p -> p.toString().endsWith(".jar")).sorted()
                        .map(p -> p.toFile().toURI().toString()).toList();
            }
        }
        try (JarFile jar = new JarFile(self.toFile())) {
            return jar.stream()
                    .map(JarEntry::getName)
                    .filter(name -> name.startsWith("bundles/") && name.endsWith(".jar"))
                    .sorted()
                    .map(name -> "jar:" + self.toFile().toURI() + "!/" + name).toList();
        }
    }

    private static void add(BundleContext context, List<Bundle> installed, String location, String skipBsn)
            throws BundleException {
        // Installed from the location itself, not a stream: the path a later update takes is
        // proven at start, not first tried by an operator.
        Bundle b = context.installBundle(location);
        if (skipBsn != null && skipBsn.equals(b.getSymbolicName())) {
            b.uninstall();
            return;
        }
        installed.add(b);
    }

    /** Waits, bounded, for a service matching {@code filter}; {@code true} if one is there. */
    private static boolean await(BundleContext context, String filter, long millis)
            throws InvalidSyntaxException, InterruptedException {
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, context.createFilter(filter), null);
        tracker.open(true);
        try {
            return tracker.waitForService(millis) != null;
        } finally {
            tracker.close();
        }
    }

    private static void stop(Framework framework) {
        try {
            if (framework.getState() == Bundle.ACTIVE || framework.getState() == Bundle.STARTING) {
                framework.stop();
            }
            framework.waitForStop(30_000);
        } catch (BundleException | InterruptedException e) {
            System.err.println("stopping the framework: " + e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("could not delete the framework's cache " + root + ": " + e.getMessage());
        }
    }
}
