package io.sanswitch.demo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportProperties;

/**
 * The newcomer's tour, on the application API ({@link SocketSwitch}) as any application bundle
 * would use it: loopback made a SAN subnet through ConfigAdmin (PID {@value #SWITCH_PID}); an echo
 * server on a switch listener; a warm-up, not timed, pinned to each provider; clients that connect
 * through the switch, so they run over the ucx (RDMA) provider, with a live progress line; the rdma
 * bundle stopped and updated mid-transfer (with {@code migrate} on, its default, the switch moves the open
 * connections to tcp: the clients keep echoing without an error or a reconnect, every byte checked;
 * the final cleanup in {@code san:cleanup-history}); the bundle's new revision started and the
 * connections moving back to ucx by themselves (moveBack, docs/rules.md SW-migrate-back), the clients
 * still on the connections they had: no reconnect anywhere; the {@code san:*} commands' view; a
 * summary with each phase's rate and their order, each client's connection with its moves and its
 * longest stall across both moves. Every step is checked, and the exit code says whether all of them
 * behaved (the order is stated, never checked: load decides rates).
 *
 * <p>The demo never starts a provider itself: the switch holds the providers' startups, and a
 * provider upcalls only its most recent upcall table (docs/rules.md Q11).
 *
 * <p>Called by the launcher's main (outside the framework) through reflection, so no type of this
 * bundle has to be shared with it: {@link #run(BundleContext, PrintStream, boolean)}.
 */
public final class Demo {
    static final String RDMA_BSN = "io.sanswitch.rdma";
    static final String SWITCH_PID = "io.sanswitch.switch";
    static final String SAN_SUBNET = "127.0.0.0/8";
    static final int CLIENTS = 2;
    static final long PHASE_MILLIS = 2500;
    /** Chunks each warm-up client echoes per provider before any phase is timed: see {@link #warmUp}. */
    static final long WARMUP_CHUNKS = 2048;
    static final long WARMUP_MAX_MILLIS = 8000;
    static final long WAIT_MILLIS = 15_000;
    /**
     * How long phase 3 waits for every connection to be on ucx again once the new provider runs: the
     * connector dials the acceptor's RDMA resume port for at most half of {@code resumeTimeoutMillis},
     * then goes over TCP (docs/migration.md section 6), so a move back takes far less or not at all.
     */
    static final long MOVE_BACK_MILLIS = 15_000;

    private final BundleContext context;
    private final Console console;
    private final Stats stats = new Stats();
    private final List<String[]> checks = new ArrayList<>();
    private final List<Stats.Phase> phases = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    /** Each tour client's longest echo in phase 2: the pause its connection's move to tcp cost it. */
    private final List<Long> stalls = new ArrayList<>();
    /** Each tour client's longest echo in phase 3: the pause its connection's move back to ucx cost it. */
    private final List<Long> stallsBack = new ArrayList<>();
    /** The clients the progress line shows: the warm-up's, then the tour's. */
    private volatile List<Client> shown = List.of();
    private Stats.Phase warmUp;

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
                + context.getBundles().length + " bundles; the rdma bundle is " + state(rdma));
        ServiceReference<SanServiceProvider> ucxRef = awaitProvider("ucx", -1);
        if (ucxRef == null) {
            console.line("The ucx provider did not appear: UCX is not usable in this JVM. On Debian 12: "
                    + "sudo apt-get install libucx0 (and run with UCX_ERROR_SIGNALS set to an empty value).");
            return 2;
        }
        long oldUcx = (Long) ucxRef.getProperty("service.id");
        SocketSwitch sw = await(SocketSwitch.class);
        if (sw == null || !eventually(() -> sw.providers().containsAll(List.of("ucx", "tcp")))) {
            console.line("The switch (SocketSwitch service) is not running both providers: "
                    + (sw == null ? "no switch" : sw.providers()));
            return 2;
        }
        configureSanSubnet();
        console.line("switch running over " + sw.providers() + "; SAN subnet " + SAN_SUBNET
                + " set through ConfigAdmin (PID " + SWITCH_PID + ", sanSubnets; migrate on by default)");
        EchoServer echo = listen(sw);
        if (echo == null) {
            return 2;
        }
        InetSocketAddress address = echo.listener.localAddress();
        console.line("echo server: SocketSwitch.listen(" + address + ") listens over " + echo.listener.providers()
                + " (ucx at port " + address.getPort() + " + rdmaPortOffset)");
        Thread progress = new Thread(this::progressLoop, "sanswitch-demo-progress");
        progress.setDaemon(true);
        progress.start();
        SwitchSocket idle = null;
        try {
            // 0. warm-up
            warmUp(sw, address, echo);
            idle = sw.connect(address);
            CompletableFuture<Integer> idleReceive = idle.receive(ByteBuffer.allocate(16)).toCompletableFuture();
            console.line("one more client idles over " + idle.provider() + " with a receive pending");

            // 1. RDMA
            console.line("");
            console.line("1. " + CLIENTS + " clients connect through the switch and echo 256 KiB chunks, every byte checked");
            Stats.Phase rdmaPhase = stats.begin("ucx");
            phases.add(rdmaPhase);
            startClients(sw, address);
            check(eventually(() -> clients.stream().allMatch(c -> c.current() != null)), "every client connected");
            check(clients.stream().allMatch(c -> c.current() != null && c.current().history().get(0)
                    .equals(new ProviderChoice("ucx", ProviderChoice.Reason.SAN_SUBNET, null))) && idle.provider().equals("ucx"),
                    "the switch put every connection on ucx (SAN_SUBNET: the peer is on " + SAN_SUBNET + ")");
            timedEcho(rdmaPhase, "ucx");
            check(rdmaPhase.bytes("ucx") > 0, "data echoed over ucx: " + bytes(rdmaPhase.bytes("ucx")));
            String sockets = shell("san:sockets ucx");
            console.line("   san:sockets ucx");
            console.line(indent(indent(sockets)));

            // 2. the rdma bundle stops mid-transfer and is updated: the connections move to tcp
            console.line("");
            console.line("2. stopping bundle " + RDMA_BSN + " mid-transfer, then updating it (bundle stop = final cleanup "
                    + "of its provider; migrate on: the switch moves open connections to tcp)");
            Stats.Phase fallbackPhase = stats.begin("fallback");
            phases.add(fallbackPhase);
            SanServiceProvider oldProvider = context.getService(ucxRef);
            clients.forEach(Client::markStall);
            long t0 = System.nanoTime();
            rdma.stop();
            long stopMillis = (System.nanoTime() - t0) / 1_000_000;
            console.line("   bundle stopped in " + stopMillis + " ms");
            BundleRevision before = rdma.adapt(BundleRevision.class);
            rdma.update();
            check(rdma.adapt(BundleRevision.class) != before, "bundle " + RDMA_BSN + " updated while stopped: a new revision");
            check(staleReference(oldProvider), "the old ucx provider reference now answers WSANOTINITIALISED");
            context.ungetService(ucxRef);
            check(eventually(() -> clients.stream().allMatch(c -> c.echoingOver("tcp"))),
                    "every client echoes over tcp on the connection it had: no reconnect");
            check(clients.stream().allMatch(c -> c.connects.get() == 1 && c.errors.isEmpty() && c.failure == null),
                    "no client saw an error: " + errorsSeen());
            check(clients.stream().allMatch(c -> c.current() != null
                    && c.current().choice().reason() == ProviderChoice.Reason.MOVED),
                    "choice() says MOVED from ucx (PROVIDER_WITHDRAWN) for every client's connection");
            SwitchSocket moved = idle;
            check(!idleReceive.isDone() && eventually(() -> "tcp".equals(moved.provider())),
                    "the idle client's receive still waits, its connection moved to tcp");
            moved.send(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
            check(receives(idleReceive, 4), "and its receive completes with the 4 bytes it sends the echo server now");
            String history = shell("san:cleanup-history ucx");
            console.line("   san:cleanup-history ucx");
            console.line(indent(indent(history)));
            // The echo server's listener, the switch's RDMA resume port (docs/migration.md section 6), both ends of each connection.
            int expectedReset = 2 + 2 * (CLIENTS + 1);
            // The moves began before the cleanup (docs/rules.md SW-migrate-early): what it aborted may be nothing.
            check(historyShows(history, oldUcx, expectedReset), "san:cleanup-history shows that final cleanup: "
                    + "TRANSPORT_LEAVING, " + expectedReset + " sockets reset (the listener's and the resume port's ucx "
                    + "sockets and both ends of " + (CLIENTS + 1) + " connections), the connections' moves begun before it");
            timedEcho(fallbackPhase, "tcp");
            check(fallbackPhase.bytes("tcp") > 0, "data echoed over tcp meanwhile: " + bytes(fallbackPhase.bytes("tcp")));
            console.line("   san:sockets tcp");
            console.line(indent(indent(shell("san:sockets tcp"))));
            clients.forEach(c -> stalls.add(c.longestStallMillis()));
            console.line("   longest stall per client across the stop and the update: "
                    + String.join(", ", stalls.stream().map(ms -> ms + " ms").toList()));

            // 3. the rdma bundle starts again: the connections move back by themselves (SW-migrate-back)
            console.line("");
            console.line("3. starting bundle " + RDMA_BSN + " (its new revision): the switch uses it for new connections at "
                    + "once and moves the moved connections back to ucx by themselves (moveBack on, docs/migration.md "
                    + "section 6); the clients keep echoing on the connections they had");
            clients.forEach(Client::markStall);
            long t1 = System.nanoTime();
            rdma.start();
            ServiceReference<SanServiceProvider> again = awaitProvider("ucx", oldUcx);
            check(again != null && eventually(() -> sw.providers().contains("ucx")
                    && echo.listener.providers().contains("ucx")), "a new ucx provider registered (service "
                    + (again == null ? "-" : again.getProperty("service.id")) + "), the switch started it and the "
                    + "echo server listens on it again");
            Stats.Phase backPhase = stats.begin("moved back");
            phases.add(backPhase);
            // The positive signal: every connection's socket says ucx again, bounded.
            boolean back = eventually(() -> clients.stream().allMatch(c -> c.current() != null
                    && "ucx".equals(c.current().provider())) && "ucx".equals(moved.provider()), MOVE_BACK_MILLIS);
            if (back) {
                console.line(String.format(Locale.ROOT, "   every connection on ucx again %.1f s after the start",
                        (System.nanoTime() - t1) / 1e9));
            } else {
                check(false, "not every connection moved back to ucx within " + MOVE_BACK_MILLIS / 1000 + " s: "
                        + whereConnectionsAre(idle));
            }
            check(back && clients.stream().allMatch(c -> c.connects.get() == 1 && c.failure == null
                    && c.current() != null && returned(c.current().choice())),
                    "every client is on ucx again on the connection it had (MOVED, provider returned): no reconnect");
            check(eventually(() -> echo.accepted().size() == CLIENTS + 1
                    && echo.accepted().stream().allMatch(s -> returned(s.choice()))),
                    "the echo server's end of each of the " + (CLIENTS + 1) + " connections says the same: "
                    + echo.accepted().stream().map(s -> s.choice().toString()).toList());
            console.line("   moves back: " + String.join(", ", clients.stream()
                    .map(c -> c.name + (c.current() != null && returned(c.current().choice()) ? " paused "
                            + c.current().choice().move().pause().toMillis() + " ms" : " did not move back")).toList())
                    + (returned(moved.choice()) ? ", idle client paused " + moved.choice().move().pause().toMillis()
                    + " ms" : ""));
            CompletableFuture<Integer> idleAgain = moved.receive(ByteBuffer.allocate(16)).toCompletableFuture();
            moved.send(ByteBuffer.wrap(new byte[] {5, 6, 7, 8, 9}));
            check(returned(moved.choice()) && receives(idleAgain, 5),
                    "the idle client moved back too and echoes 5 bytes over ucx on the connection it had");
            timedEcho(backPhase, "ucx");
            check(backPhase.bytes("ucx") > 0, "data echoed over ucx again on the moved-back connections: "
                    + bytes(backPhase.bytes("ucx")));
            console.line("   san:sockets ucx");
            console.line(indent(indent(shell("san:sockets ucx"))));
            clients.forEach(c -> stallsBack.add(c.longestStallMillis()));
            console.line("   longest stall per client across the start and the move back: "
                    + String.join(", ", stallsBack.stream().map(ms -> ms + " ms").toList()));
            stopClients();
            stats.begin("done");
        } finally {
            stopClients();
            progress.interrupt();
            progress.join(5000);
            console.clearProgress();
            if (idle != null) {
                idle.abort();
            }
            echo.close();
        }
        for (Client c : clients) {
            check(c.failure == null, c.failure == null ? "client ran without errors" : c.failure);
        }

        console.line("");
        console.line("san:providers");
        String providers = shell("san:providers");
        console.line(indent(providers));
        check(providers.lines().filter(l -> l.matches("(tcp|ucx)\\s+\\d+\\s+RUNNING\\s+1\\s.*")).count() == 2,
                "both providers RUNNING, each with one reference: the switch's");
        summary();
        long failed = checks.stream().filter(c -> c[0].equals("FAILED")).count();
        console.line(failed == 0 ? "demo finished: all " + checks.size() + " checks passed"
                : "demo FAILED: " + failed + " of " + checks.size() + " checks failed");
        return failed == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------ steps

    /** sanSubnets of the switch's PID, kept with whatever else is configured there. */
    private void configureSanSubnet() throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        if (ref == null) {
            throw new IllegalStateException("no ConfigurationAdmin in the framework");
        }
        try {
            org.osgi.service.cm.Configuration c = context.getService(ref).getConfiguration(SWITCH_PID, "?");
            Dictionary<String, Object> props = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
            props.put("sanSubnets", new String[] {SAN_SUBNET});
            // No migrate: on by default, so open connections move to tcp when the rdma bundle goes (docs/migration.md).
            c.update(props);
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * The echo server's listener on loopback; the configuration reaches the switch asynchronously,
     * so it is made again until ucx listens too (a SAN listener only for a SAN address, docs/rules.md SW-subnet).
     */
    private EchoServer listen(SocketSwitch sw) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (true) {
            SwitchServerSocket l = sw.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            if (l.providers().contains("ucx")) {
                return new EchoServer(l);
            }
            l.close();
            if (System.nanoTime() > deadline) {
                console.line("The switch never listened over ucx on loopback: the SAN subnet did not reach it");
                return null;
            }
            Thread.sleep(50);
        }
    }

    private void startClients(SocketSwitch sw, InetSocketAddress address) {
        for (int i = 1; i <= CLIENTS; i++) {
            Client c = new Client("client " + i, null, sw, address, stats, console);
            Thread t = new Thread(c, "sanswitch-demo-client-" + i);
            clients.add(c);
            threads.add(t);
            t.start();
        }
        shown = List.copyOf(clients);
    }

    /**
     * Step 0, not timed. The JVM runs the echo path (the clients' byte checks, the switch, each
     * provider's code) interpreted until it has compiled it, a few seconds into the traffic: measured
     * cold, phase 1 ran at a fraction of phase 3's rate (then new connections over ucx) and below
     * the tcp phase's (its first chunks took tens to hundreds of milliseconds each, phase 3's under
     * one). So the same client code echoes pinned to ucx, then to tcp, before any phase is timed:
     * {@value #WARMUP_CHUNKS} chunks per client from its first echo on (the first ucx connect alone took over a second, cold), since the JIT
     * compiles by invocation counts; on a quiet machine the ucx rate stopped climbing after about as
     * many (per half second: 66, 209, 608, 621 MiB/s). Then ucx once more, since the tcp pass makes
     * call sites both providers share polymorphic and the JVM compiles them again, and then a wait
     * until the compiler is quiet ({@link JitQuiet}). Its connections are closed before the tour
     * starts, so the sockets the tour counts are its own.
     */
    private void warmUp(SocketSwitch sw, InetSocketAddress address, EchoServer echo) throws InterruptedException {
        console.line("");
        console.line("0. warm-up, not timed: " + CLIENTS + " clients pinned to ucx, to tcp, to ucx again, echo " + WARMUP_CHUNKS
                + " chunks each (the JVM compiles the echo path before the phases are timed)");
        warmUp = stats.begin("warm-up");
        List<String> failures = new ArrayList<>();
        for (String provider : List.of("ucx", "tcp", "ucx")) {
            List<Client> pinned = new ArrayList<>();
            List<Thread> running = new ArrayList<>();
            for (int i = 1; i <= CLIENTS; i++) {
                Client c = new Client("warm-up client " + i, provider, sw, address, stats, console);
                pinned.add(c);
                running.add(new Thread(c, "sanswitch-demo-warm-up-" + provider + "-" + i));
            }
            shown = pinned;
            running.forEach(Thread::start);
            eventually(() -> pinned.stream().allMatch(c -> c.echoingOver(provider)));
            long start = System.nanoTime();
            long before = warmUp.bytes(provider);
            boolean enough = eventually(() -> pinned.stream().allMatch(c -> c.echoedOnConnection() >= WARMUP_CHUNKS),
                    WARMUP_MAX_MILLIS);
            console.line(String.format(Locale.ROOT, "   %s: %s echoed in %.1f s%s", provider,
                    bytes(warmUp.bytes(provider) - before), (System.nanoTime() - start) / 1e9,
                    enough ? "" : " (stopped at " + WARMUP_MAX_MILLIS / 1000 + " s: a loaded machine)"));
            pinned.forEach(c -> c.running.set(false));
            for (Thread t : running) {
                t.join(WAIT_MILLIS * 2);
                if (t.isAlive()) {
                    failures.add(t.getName() + " did not end");
                }
            }
            pinned.stream().filter(c -> c.failure != null || !c.errors.isEmpty())
                    .forEach(c -> failures.add(c.failure != null ? c.failure : "errors " + c.errors));
        }
        JitQuiet.Outcome jit = JitQuiet.await(WARMUP_MAX_MILLIS);
        console.line(String.format(Locale.ROOT, "   JIT compiler %s after %.1f s more", jit.quiet() ? "quiet" : "still busy",
                jit.waitedMillis() / 1e3));
        boolean closed = eventually(() -> echo.connections() == 0);
        check(failures.isEmpty() && closed && warmUp.bytes("ucx") > 0 && warmUp.bytes("tcp") > 0,
                "warm-up echoed over ucx (" + bytes(warmUp.bytes("ucx")) + ") and tcp (" + bytes(warmUp.bytes("tcp"))
                + "), pinned, and closed its connections" + (failures.isEmpty() ? "" : ": " + failures)
                + (closed ? "" : "; the echo server still has " + echo.connections() + " open"));
    }

    /**
     * The phase's timed part: it starts once every client echoes over {@code provider} (their connects
     * stay out of the rate) and lasts {@value #PHASE_MILLIS} ms, with no check or command running.
     */
    private void timedEcho(Stats.Phase phase, String provider) throws InterruptedException {
        eventually(() -> clients.stream().allMatch(c -> c.echoingOver(provider)));
        phase.startTimed(provider);
        Thread.sleep(PHASE_MILLIS);
        phase.endTimed();
    }

    private void stopClients() throws InterruptedException {
        for (Client c : clients) {
            c.running.set(false);
        }
        for (Thread t : threads) {
            t.join(WAIT_MILLIS * 2);
            if (t.isAlive()) {
                check(false, t.getName() + " did not end");
            }
        }
        threads.clear();
    }

    /** A move back to ucx: MOVED from tcp, cause PROVIDER_RETURNED (docs/rules.md SW-migrate-back). */
    private static boolean returned(ProviderChoice c) {
        return c.provider().equals("ucx") && c.reason() == ProviderChoice.Reason.MOVED
                && c.move().from().equals("tcp") && c.move().cause() == ProviderMove.Cause.PROVIDER_RETURNED;
    }

    /** Each connection's provider and history, for the line that says which one did not move back. */
    private String whereConnectionsAre(SwitchSocket idle) {
        List<String> where = new ArrayList<>();
        for (Client c : clients) {
            where.add(c.current() == null ? c.name + " not connected"
                    : c.name + " on " + c.current().provider() + " " + c.current().history());
        }
        where.add("idle client on " + idle.provider() + " " + idle.history());
        return String.join("; ", where);
    }

    private String errorsSeen() {
        StringBuilder b = new StringBuilder();
        for (Client c : clients) {
            b.append(b.length() == 0 ? "" : "; ").append(c.errors.stream().map(Enum::name).distinct().toList());
        }
        return b.toString();
    }

    private static boolean receives(CompletableFuture<Integer> f, int expected) throws InterruptedException {
        try {
            return f.get(WAIT_MILLIS, TimeUnit.MILLISECONDS) == expected;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    private static boolean staleReference(SanServiceProvider old) {
        try {
            old.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
            return false;
        } catch (WsaException e) {
            return e.error() == WsaError.WSANOTINITIALISED;
        }
    }

    /** The history row of service {@code serviceId}: TRANSPORT_LEAVING, a count aborted, {@code reset} reset. */
    private static boolean historyShows(String table, long serviceId, int reset) {
        List<String> lines = table.lines().toList();
        if (lines.isEmpty()) {
            return false;
        }
        List<String> header = List.of(lines.get(0).trim().split("\\s{2,}"));
        int service = header.indexOf("SERVICE");
        int a = header.indexOf("ABORTED");
        int r = header.indexOf("RESET");
        int why = header.indexOf("REASON");
        int result = header.indexOf("RESULT");
        if (service < 0 || a < 0 || r < 0 || why < 0 || result < 0) {
            return false;
        }
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.trim().split("\\s{2,}");
            if (cells.length == header.size() && cells[service].equals(String.valueOf(serviceId))) {
                return cells[why].equals("TRANSPORT_LEAVING") && Integer.parseInt(cells[a]) >= 0
                        && cells[r].equals(String.valueOf(reset)) && cells[result].equals("0");
            }
        }
        return false;
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
                for (Client c : shown) {
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
        console.line(indent(String.format("%-26s %12s %12s %8s %10s %13s%n", "PHASE", "UCX", "TCP", "TIME", "TIMED",
                "TIMED RATE") + phaseRow("0. warm-up, not timed", warmUp) + phaseRow("1. echo over RDMA", phase(0))
                + phaseRow("2. rdma stopped, on tcp", phase(1)) + phaseRow("3. moved back to ucx", phase(2))));
        console.line("   (timed: every client echoing over the phase's provider, after the warm-up; no connect, "
                + "check or command in it)");
        console.line("   " + PhaseOrder.line(timedRate(phase(0)), timedRate(phase(1)), timedRate(phase(2))));
        console.line("   " + PhaseOrder.movedBack(timedRate(phase(0)), timedRate(phase(2))));
        console.line("");
        List<String> paths = clients.stream().map(c -> c.history == null ? "-" : String.join(" -> ",
                c.history.stream().map(ch -> ch.provider() + " " + Client.reason(ch)).toList())).toList();
        String header = "CONNECTION (provider, switch's reason; each move ->)";
        int width = Math.max(header.length(), paths.stream().mapToInt(String::length).max().orElse(0));
        String row = "%-7s %-" + width + "s %-29s %s%n";
        StringBuilder t = new StringBuilder(String.format(row, "CLIENT", header,
                "LONGEST STALL (TO TCP, BACK)", "FAILURE"));
        for (int i = 0; i < clients.size(); i++) {
            Client c = clients.get(i);
            String stall = "-";
            if (i < stalls.size()) {
                long back = i < stallsBack.size() ? stallsBack.get(i) : 0;
                stall = Math.max(stalls.get(i), back) + " ms (" + stalls.get(i) + ", "
                        + (i < stallsBack.size() ? back + ")" : "-)");
            }
            java.util.Map<WsaError, Long> failures = new java.util.TreeMap<>();
            c.errors.forEach(e -> failures.merge(e, 1L, Long::sum));
            StringBuilder f = new StringBuilder();
            failures.forEach((e, n) -> f.append(f.length() == 0 ? "" : ", ").append(e.name()).append(" x").append(n));
            t.append(String.format(row, i + 1, paths.get(i), stall,
                    c.failure != null ? c.failure : f.length() == 0 ? "-" : f));
        }
        console.line(indent(t.toString()));
        console.line("");
        for (String[] c : checks) {
            console.line(String.format("   %-6s %s", c[0], c[1]));
        }
    }

    private Stats.Phase phase(int index) {
        return index < phases.size() ? phases.get(index) : null;
    }

    private static double timedRate(Stats.Phase p) {
        return p != null && p.timed() ? p.timedRate() : Double.NaN;
    }

    private static String phaseRow(String title, Stats.Phase p) {
        if (p == null) {
            return String.format("%-26s %12s %12s %8s %10s %13s%n", title, "-", "-", "-", "-", "-");
        }
        String timed = p.timed() ? String.format(Locale.ROOT, "%s %.1fs", p.timedProvider(), p.timedSeconds()) : "-";
        String rate = p.timed() ? String.format(Locale.ROOT, "%.1f MiB/s", p.timedRate()) : "-";
        return String.format(Locale.ROOT, "%-26s %12s %12s %7.1fs %10s %13s%n", title, bytes(p.bytes("ucx")),
                bytes(p.bytes("tcp")), p.nanos() / 1e9, timed, rate);
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
        return eventually(condition, WAIT_MILLIS);
    }

    private static boolean eventually(BooleanSupplier condition, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
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
        String filter = "(&(objectClass=" + SanServiceProvider.class.getName() + ")("
                + TransportProperties.TRANSPORT + "=" + transport + ")(!(service.id=" + notId + ")))";
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

    /** The service of {@code type}, waited for (bounded), or {@code null}. */
    private <S> S await(Class<S> type) throws InterruptedException {
        ServiceTracker<S, S> t = new ServiceTracker<>(context, type, null);
        t.open();
        try {
            return t.waitForService(WAIT_MILLIS);
        } finally {
            t.close();
        }
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
