package io.sanswitch.demo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The newcomer's tour, driven through the SPI as the switch will drive it: echo clients over the
 * ucx (RDMA) provider with a live progress line; the rdma bundle stopped mid-transfer (operations
 * aborted, sockets reset, clients falling back to tcp as it happens); the bundle started again and
 * traffic back on ucx; the san:* commands' view of it; a summary. Every step is checked, and the
 * exit code says whether all of them behaved.
 *
 * <p>Called by the launcher's main (outside the framework) through reflection, so no type of this
 * bundle has to be shared with it: {@link #run(BundleContext, PrintStream, boolean)}.
 */
public final class Demo {
    static final String RDMA_BSN = "io.sanswitch.rdma";
    static final int CLIENTS = 2;
    static final long PHASE_MILLIS = 2500;
    static final long WAIT_MILLIS = 15_000;

    private final BundleContext context;
    private final Console console;
    private final Stats stats = new Stats();
    private final DemoSwitch upcalls = new DemoSwitch();
    private final List<String[]> checks = new ArrayList<>();
    private final List<Stats.Phase> phases = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    private Demo(BundleContext context, Console console) {
        this.context = context;
        this.console = console;
    }

    /**
     * Runs the demo.
     *
     * @param live redraw the progress line in place (a terminal) instead of printing it each second
     * @return 0 if every step behaved, 1 if one did not, 2 if the demo could not start
     */
    public static int run(BundleContext context, PrintStream out, boolean live) throws Exception {
        return new Demo(context, new Console(out, live)).run();
    }

    private int run() throws Exception {
        Bundle rdma = bundle(RDMA_BSN);
        console.line("sanswitch demo: Apache Felix " + context.getBundle(0).getVersion() + " with "
                + bundleCount() + " bundles; the rdma bundle is " + state(rdma));
        ServiceReference<SanServiceProvider> ucxRef = awaitProvider("ucx", -1);
        ServiceReference<SanServiceProvider> tcpRef = awaitProvider("tcp", -1);
        if (ucxRef == null) {
            console.line("The ucx provider did not appear: UCX is not usable in this JVM. On Debian 12: "
                    + "sudo apt-get install libucx0 (and run with UCX_ERROR_SIGNALS set to an empty value).");
            return 2;
        }
        if (tcpRef == null) {
            console.line("The tcp provider did not appear: is the bundle io.sanswitch.tcp resolved?");
            return 2;
        }
        ProviderSide ucx = side("ucx", ucxRef);
        ProviderSide tcp = side("tcp", tcpRef);
        Routing routing = new Routing(ucx, tcp);
        EchoLink idle = new EchoLink(ucx);
        idle.idle();
        console.line(String.format("echo server listening over ucx on %s and over tcp on %s; "
                + "one more client idles on ucx with a receive posted", ucx.address(), tcp.address()));

        Thread progress = new Thread(() -> progressLoop(), "sanswitch-demo-progress");
        progress.setDaemon(true);
        try {
            // 1. RDMA
            console.line("");
            console.line("1. " + CLIENTS + " clients echo 256 KiB chunks over RDMA (provider ucx, service "
                    + ucx.serviceId + "), every byte checked");
            Stats.Phase rdmaPhase = stats.begin("ucx");
            phases.add(rdmaPhase);
            startClients(routing);
            progress.start();
            Thread.sleep(PHASE_MILLIS);
            check(rdmaPhase.bytes("ucx") > 0, "data echoed over ucx: " + bytes(rdmaPhase.bytes("ucx")));

            // 2. the rdma bundle stops mid-transfer
            console.line("");
            console.line("2. stopping bundle " + RDMA_BSN + " mid-transfer (bundle stop = final cleanup of its provider)");
            Stats.Phase fallbackPhase = stats.begin("fallback");
            phases.add(fallbackPhase);
            int abortedBefore = upcalls.aborted.get();
            int closedBefore = upcalls.handlesClosed.get();
            long t0 = System.nanoTime();
            rdma.stop();
            long stopMillis = (System.nanoTime() - t0) / 1_000_000;
            int aborted = upcalls.aborted.get() - abortedBefore;
            int reset = upcalls.handlesClosed.get() - closedBefore;
            console.line(String.format("   bundle stopped in %d ms: %d operations aborted (WSA_OPERATION_ABORTED), "
                    + "%d sockets reset", stopMillis, aborted, reset));
            check(aborted >= 2, "the stop aborted the operations in flight (" + aborted + ", at least the idle client's two)");
            check(staleReference(ucx.provider), "the old ucx reference now answers WSANOTINITIALISED");
            check(eventually(() -> clients.stream().allMatch(c -> c.fallbacks.get() > 0 && "tcp".equals(c.provider))),
                    "every client fell back to tcp");
            String history = shell("san:cleanup-history ucx");
            console.line("   san:cleanup-history ucx");
            console.line(indent(indent(history)));
            check(historyShows(history, aborted, reset), "san:cleanup-history shows that final cleanup with the same "
                    + aborted + " aborted and " + reset + " reset");
            Thread.sleep(PHASE_MILLIS);
            check(fallbackPhase.bytes("tcp") > 0, "data echoed over tcp meanwhile: " + bytes(fallbackPhase.bytes("tcp")));

            // 3. the rdma bundle starts again
            console.line("");
            console.line("3. starting bundle " + RDMA_BSN + " again: new connections go to RDMA at once");
            rdma.start();
            ServiceReference<SanServiceProvider> again = awaitProvider("ucx", ucx.serviceId);
            check(again != null, "a new ucx provider registered" + (again == null ? "" : " (service "
                    + again.getProperty(Constants.SERVICE_ID) + ")"));
            if (again != null) {
                ProviderSide ucx2 = side("ucx", again);
                Stats.Phase backPhase = stats.begin("ucx again");
                phases.add(backPhase);
                routing.prefer(ucx2);
                check(eventually(() -> clients.stream().allMatch(c -> c.moves.get() > 0 && "ucx".equals(c.provider))),
                        "every client moved back to ucx");
                Thread.sleep(PHASE_MILLIS);
                check(backPhase.bytes("ucx") > 0, "data echoed over ucx again: " + bytes(backPhase.bytes("ucx")));
                stopClients();
                stats.begin("done");
                ucx2.close();
            } else {
                stopClients();
            }
        } finally {
            stopClients();
            progress.interrupt();
            progress.join(5000);
            console.clearProgress();
            idle.close();
            ucx.close();
            tcp.close();
        }
        for (Client c : clients) {
            check(c.failure == null, c.failure == null ? "client ran without errors" : c.failure);
        }

        console.line("");
        console.line("san:providers");
        console.line(indent(shell("san:providers")));
        summary();
        long failed = checks.stream().filter(c -> c[0].equals("FAILED")).count();
        console.line(failed == 0 ? "demo finished: all " + checks.size() + " checks passed"
                : "demo FAILED: " + failed + " of " + checks.size() + " checks failed");
        return failed == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------ steps

    private ProviderSide side(String name, ServiceReference<SanServiceProvider> ref) throws Exception {
        ProviderSide side = new ProviderSide(name, (Long) ref.getProperty(Constants.SERVICE_ID), context.getService(ref),
                upcalls);
        side.open();
        return side;
    }

    private void startClients(Routing routing) {
        for (int i = 1; i <= CLIENTS; i++) {
            Client c = new Client(i, routing, stats, console);
            Thread t = new Thread(c, "sanswitch-demo-client-" + i);
            clients.add(c);
            threads.add(t);
            t.start();
        }
    }

    private void stopClients() throws InterruptedException {
        for (Client c : clients) {
            c.running.set(false);
        }
        for (Thread t : threads) {
            t.join(ProviderSide.WAIT_MILLIS * 2);
            if (t.isAlive()) {
                check(false, t.getName() + " did not end");
            }
        }
        threads.clear();
    }

    private static boolean staleReference(SanServiceProvider old) {
        try {
            old.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
            return false;
        } catch (WsaException e) {
            return e.error() == WsaError.WSANOTINITIALISED;
        }
    }

    /** The history row of that cleanup: reason TRANSPORT_LEAVING, same aborted and reset counts. */
    private static boolean historyShows(String table, int aborted, int reset) {
        List<String> lines = table.lines().toList();
        if (lines.isEmpty()) {
            return false;
        }
        List<String> header = List.of(lines.get(0).trim().split("\\s{2,}"));
        int a = header.indexOf("ABORTED");
        int r = header.indexOf("RESET");
        int why = header.indexOf("REASON");
        if (a < 0 || r < 0 || why < 0) {
            return false;
        }
        String[] last = lines.get(lines.size() - 1).trim().split("\\s{2,}");
        return last.length == header.size() && last[why].equals("TRANSPORT_LEAVING")
                && last[a].equals(String.valueOf(aborted)) && last[r].equals(String.valueOf(reset));
    }

    // ------------------------------------------------------------------ output

    private void progressLoop() {
        long lastTotal = 0;
        long lastNanos = System.nanoTime();
        long interval = console.live() ? 250 : 1000;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(interval);
                Stats.Phase p = stats.current();
                long total = p.total();
                long now = System.nanoTime();
                long delta = total < lastTotal ? total : total - lastTotal;
                double rate = delta / 1048576.0 / ((now - lastNanos) / 1e9);
                lastTotal = total;
                lastNanos = now;
                StringBuilder on = new StringBuilder();
                for (Client c : clients) {
                    on.append(on.length() == 0 ? "" : ",").append(c.provider);
                }
                console.progress(String.format(Locale.ROOT, "   [%s] clients on %s | ucx %s, tcp %s | %.1f MiB/s",
                        p.title, on, bytes(p.bytes("ucx")), bytes(p.bytes("tcp")), rate));
            }
        } catch (InterruptedException e) {
            // the demo is over
        }
    }

    private void summary() {
        console.line("");
        console.line("summary");
        console.line(indent(String.format("%-26s %12s %12s %8s %12s%n", "PHASE", "UCX", "TCP", "TIME", "RATE")
                + phaseRow("1. echo over RDMA", 0) + phaseRow("2. rdma stopped, on tcp", 1)
                + phaseRow("3. rdma started again", 2)));
        for (String[] c : checks) {
            console.line(String.format("   %-6s %s", c[0], c[1]));
        }
    }

    private String phaseRow(String title, int index) {
        if (index >= phases.size()) {
            return String.format("%-26s %12s %12s %8s %12s%n", title, "-", "-", "-", "-");
        }
        Stats.Phase p = phases.get(index);
        double seconds = p.nanos() / 1e9;
        return String.format(Locale.ROOT, "%-26s %12s %12s %7.1fs %7.1f MiB/s%n", title, bytes(p.bytes("ucx")),
                bytes(p.bytes("tcp")), seconds, p.total() / 1048576.0 / seconds);
    }

    private void check(boolean ok, String what) {
        checks.add(new String[] {ok ? "ok" : "FAILED", what});
        console.line("   " + (ok ? "ok      " : "FAILED  ") + what);
    }

    /** Runs a command in a Gogo session, as the shell would, and returns what it printed or returned. */
    private String shell(String command) {
        ServiceReference<CommandProcessor> ref = context.getServiceReference(CommandProcessor.class);
        if (ref == null) {
            return "(no Gogo CommandProcessor in this framework)";
        }
        CommandProcessor processor = context.getService(ref);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8)) {
            CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, out);
            try {
                Object result = session.execute(command);
                out.flush();
                return printed.toString(StandardCharsets.UTF_8) + (result == null ? "" : result.toString());
            } finally {
                session.close();
            }
        } catch (Exception e) {
            return command + " failed: " + e;
        } finally {
            context.ungetService(ref);
        }
    }

    private static String indent(String text) {
        return text.lines().map(l -> "   " + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }

    static String bytes(long n) {
        if (n < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        if (n < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", n / 1048576.0);
        }
        return String.format(Locale.ROOT, "%.2f GiB", n / 1073741824.0);
    }

    // ------------------------------------------------------------------ framework

    private boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** The provider over {@code transport} whose service id is not {@code notId}, or {@code null} after the wait. */
    private ServiceReference<SanServiceProvider> awaitProvider(String transport, long notId) throws Exception {
        String filter = "(&(objectClass=" + SanServiceProvider.class.getName() + ")(sanswitch.transport=" + transport
                + ")(!(service.id=" + notId + ")))";
        ServiceTracker<SanServiceProvider, SanServiceProvider> t = new ServiceTracker<>(context,
                context.createFilter(filter), null);
        t.open();
        try {
            t.waitForService(WAIT_MILLIS);
            return t.getServiceReference();
        } finally {
            t.close();
        }
    }

    private Bundle bundle(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new IllegalStateException("no bundle " + bsn + " in the framework");
    }

    private int bundleCount() {
        return context.getBundles().length;
    }

    private static String state(Bundle b) {
        return switch (b.getState()) {
            case Bundle.ACTIVE -> "active";
            case Bundle.RESOLVED -> "resolved";
            case Bundle.INSTALLED -> "installed (not resolved)";
            default -> "in state " + b.getState();
        };
    }
}
