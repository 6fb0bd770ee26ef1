package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static io.sanswitch.itests.RevisionCycles.WAIT_MILLIS;
import static io.sanswitch.itests.RevisionCycles.awaitCollected;
import static io.sanswitch.itests.RevisionCycles.currentLoader;
import static io.sanswitch.itests.RevisionCycles.dumpHeapIfAsked;
import static io.sanswitch.itests.RevisionCycles.roundTrip;
import static io.sanswitch.itests.RevisionCycles.transfer;
import static io.sanswitch.itests.RevisionCycles.updateAndRefresh;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.testing.Checks;

/**
 * Issue 13: the lifecycle's leak figures over many cycles of the rdma bundle, in Felix with the real
 * UCX and TCP providers, with {@code migrate} on (PID io.sanswitch.switch, set here: the test does not
 * rely on the default). Each cycle carries traffic through the SocketSwitch service (a connection
 * pinned to ucx and one pinned to tcp, 70,000 bytes echoed both ways and checked, plus a tcp
 * connection open across all cycles), stops and starts the bundle, carries traffic again, then
 * updates it from its jar and refreshes it, retiring one revision. A connection pinned to ucx between
 * two connections of this switch stays open across all cycles too ({@link MovingConnection}): at each
 * stop it moves to tcp, at each start and after each refresh back to ucx (docs/migration.md sections
 * 4 and 6), with 70,000 bytes sent ahead of each step and read after the move, and 70,000 echoed
 * and checked after it. A warm-up cycle first, then the
 * baseline; at every checkpoint, after full GCs until every retired revision's class loader is
 * collected, the figures of {@link LeakFigures} must be back at the baseline, among them what the
 * moves could leave: parked sessions, resume ports and resume sockets (provider sockets and
 * connections), moved streams (registrations no open connection holds, bytes kept for a resume,
 * threads). The table of figures per checkpoint goes to
 * the output as {@code [leaks]} lines.
 *
 * <p>{@code -Dleaks.cycles=N} (default 10, what CI runs; 1,000 for the long run) and {@code
 * -Dleaks.every=K} (checkpoints; default every tenth of the run, at least 5 cycles apart); {@code
 * -Dleaks.heapDump=FILE} writes a heap dump when a retired loader stays reachable.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LifecycleLeakIT {
    private static final String RDMA_BSN = "io.sanswitch.rdma";
    private static final String SWITCH_PID = "io.sanswitch.switch";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CYCLES = Integer.getInteger("leaks.cycles", 10);
    private static final int EVERY = Integer.getInteger("leaks.every", Math.max(5, CYCLES / 10));
    /**
     * Open descriptors may differ from the baseline by this many: the JVM opens and closes files of
     * its own (a jar of the class path, /proc entries read here) at moments of its choosing.
     */
    private static final int FD_TOLERANCE = 2;
    /**
     * The process's threads may differ by this many: the JVM adds and retires compiler threads as its
     * compile queue grows and shrinks; Java threads are compared by group exactly, apart from "other".
     */
    private static final int TASK_TOLERANCE = 4;
    /** JNI global references between the half-way checkpoint and the last: no growth with the cycles. */
    private static final int JNI_TOLERANCE = 8;
    /**
     * The switch's connections at a checkpoint: the steady tcp pair, the moving pair, and the two ends
     * of the resume socket that carries the moved-back session (a switch connection over ucx on each
     * side, docs/migration.md section 6).
     */
    private static final int OPEN_CONNECTIONS = 6;

    @Inject
    private BundleContext context;

    private SocketSwitch sw;
    private SwitchProbe probe;
    /** The connection that moves at each withdrawal and back, open across all cycles. */
    private MovingConnection moving;
    /** Stops, starts and updates under the moving connection, and those with bytes kept for a resume just before. */
    private int moveSteps;
    private int stepsWithBytesKept;
    /** JNI global references while a revision runs (after its start and traffic), by checkpoint. */
    private final Map<String, Integer> jniRunning = new LinkedHashMap<>();

    @Configuration
    public Option[] config() {
        // The native container runs the framework in this JVM: leaks.* reach the test as they are.
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"));
    }

    @Test
    @Checks({"LC-revision", "LC-d"})
    public void cyclesOfTheRdmaBundleUnderTrafficLeaveTheFiguresAtTheirBaseline() throws Exception {
        migrationOn();
        sw = awaitSwitch();
        probe = new SwitchProbe(sw);
        eventually("the switch runs both providers", () -> sw.providers().containsAll(List.of("tcp", "ucx")));
        // ConfigAdmin delivers asynchronously: both resume ports open show that migrate is in force, and a
        // connection made before would announce no resume port in its SESSION and could not move.
        eventually("migrate in force: the switch's resume ports open over tcp and ucx",
                () -> probe.resumePort() != 0 && probe.returnPort() != 0);
        List<WeakReference<ClassLoader>> retired = new ArrayList<>();
        Map<String, LeakFigures> table = new LinkedHashMap<>();
        Map<String, Integer> alive = new LinkedHashMap<>();
        Map<String, Integer> jniBeforeGc = new LinkedHashMap<>();
        long start = System.nanoTime();
        try (SwitchServerSocket ucx = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4, "ucx");
                SwitchServerSocket tcp = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4, "tcp")) {
            CompletableFuture<SwitchSocket> accepted = tcp.acceptAsync().toCompletableFuture();
            try (SwitchSocket steadyClient = sw.connect(tcp.localAddress(), "tcp");
                    SwitchSocket steadyServer = accepted.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                    MovingConnection moving = MovingConnection.open(sw, ucx)) {
                this.moving = moving;
                cycle(ucx, tcp, steadyClient, steadyServer, retired, 0);
                LeakFigures baseline = checkpoint(checkpointName(0), null, retired, table, alive, jniBeforeGc);
                for (int c = 1; c <= CYCLES; c++) {
                    try {
                        cycle(ucx, tcp, steadyClient, steadyServer, retired, c);
                    } catch (Exception | AssertionError e) {
                        System.out.println("[leaks] cycle " + c + " failed: " + e + "; " + state(ucx));
                        throw new AssertionError("cycle " + c + " of " + CYCLES + " failed; " + state(ucx), e);
                    }
                    if (isCheckpoint(c)) {
                        checkpoint(checkpointName(c), baseline, retired, table, alive, jniBeforeGc);
                    }
                }
            }
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        printTable(table, alive, jniBeforeGc, seconds);
        assertBackAtBaseline(table, alive);
    }

    /**
     * Traffic over ucx and tcp, the bundle's stop (tcp carries on alone, the moving connection moves
     * to tcp) and start (it moves back), traffic again, then the update and refresh that retire the
     * current revision (it moves to tcp and back again).
     */
    private void cycle(SwitchServerSocket ucx, SwitchServerSocket tcp, SwitchSocket steadyClient,
            SwitchSocket steadyServer, List<WeakReference<ClassLoader>> retired, int c) throws Exception {
        awaitUcxListening(ucx, "before cycle " + c);
        transfer(sw, ucx, "ucx");
        transfer(sw, tcp, "tcp");
        int moves = moving.moves();
        byte[] ahead = moving.sendAhead(7 * c);
        countKept();
        rdma().stop();
        moving.awaitOn("tcp", moves + 1, "after the stop in cycle " + c);
        moving.assertMovedFrom("ucx", "at the stop in cycle " + c);
        moving.receiveAhead(ahead);
        moving.checkedBothWays(7 * c + 1);
        roundTrip(steadyClient, steadyServer, c);
        transfer(sw, tcp, "tcp");
        moves = moving.moves();
        ahead = moving.sendAhead(7 * c + 2);
        countKept();
        rdma().start();
        awaitUcxListening(ucx, "after the restart in cycle " + c);
        moving.awaitOn("ucx", moves + 1, "after the start in cycle " + c);
        moving.assertMovedFrom("tcp", "at the start in cycle " + c);
        moving.receiveAhead(ahead);
        moving.checkedBothWays(7 * c + 3);
        transfer(sw, ucx, "ucx");
        if (isCheckpoint(c)) {
            jniRunning.put(checkpointName(c), LeakFigures.jniReferences()[0]);
        }
        retired.add(currentLoader(rdma()));
        moves = moving.moves();
        ahead = moving.sendAhead(7 * c + 5);
        countKept();
        updateAndRefresh(context, rdma(), Path.of(System.getProperty("sanswitch.bundle.rdma")));
        moving.awaitOn("ucx", moves + 2, "after the update and refresh in cycle " + c);
        moving.assertMovedFrom("tcp", "after the update and refresh in cycle " + c);
        moving.receiveAhead(ahead);
        moving.checkedBothWays(7 * c + 6);
        roundTrip(steadyClient, steadyServer, -c);
    }

    /**
     * Whether the switch still keeps bytes for a resume just before a withdrawal or a return (the
     * resume then replays them), for the summary: it depends on the timing of the quiet ACK.
     */
    private void countKept() {
        moveSteps++;
        if (probe.retainedBytes() > 0) {
            stepsWithBytesKept++;
        }
    }

    /** migrate on through ConfigAdmin, as an operator sets it (moveBack keeps its default, on). */
    private void migrationOn() throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("migrate", true);
        try {
            context.getService(ref).getConfiguration(SWITCH_PID, "?").update(props);
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * The figures once the retired revisions are collected and the switch's connections have ended,
     * waiting (bounded) until they are those of {@code baseline}; the last taken when they are not,
     * for the assertions to name what stayed.
     */
    private LeakFigures checkpoint(String name, LeakFigures baseline, List<WeakReference<ClassLoader>> retired,
            Map<String, LeakFigures> table, Map<String, Integer> alive, Map<String, Integer> jniBeforeGc)
            throws Exception {
        eventually("the switch runs ucx at " + name, () -> sw.providers().contains("ucx"));
        jniBeforeGc.put(name, LeakFigures.jniReferences()[0]);
        int stillReachable = awaitCollected(retired);
        if (stillReachable > 0) {
            List<Integer> which = new ArrayList<>();
            for (int i = 0; i < retired.size(); i++) {
                if (retired.get(i).get() != null) {
                    which.add(i);
                }
            }
            System.out.println("[leaks] " + name + ": the revisions retired in cycles " + which + " still reachable");
            dumpHeapIfAsked("leaks.heapDump");
        }
        // The steady tcp pair and the moving connection stay open; connections closed just now end on the
        // switch's threads.
        eventually("the switch's connections ended at " + name + " (" + OPEN_CONNECTIONS + " open expected)",
                () -> sw.statistics().connections() == OPEN_CONNECTIONS);
        if (baseline == null) {
            // The moving connection runs: nothing parked (a resumed session left parked is a leak), and once
            // both ends acknowledged what they received (a quiet ACK goes 5 ms after), nothing kept for a resume.
            eventually(() -> "nothing parked and nothing kept for a resume at " + name + " within "
                    + Eventually.WAIT_MILLIS + " ms: " + probe.parkedSessions() + " sessions parked, "
                    + probe.retainedBytes() + " bytes kept; the moving connection: " + moving, Eventually.WAIT_MILLIS,
                    () -> probe.parkedSessions() == 0 && probe.retainedBytes() == 0);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Eventually.WAIT_MILLIS);
        LeakFigures now = figures();
        while (baseline != null && !settled(now, baseline) && System.nanoTime() - deadline < 0) {
            Thread.sleep(10);
            now = figures();
        }
        table.put(name, now);
        alive.put(name, stillReachable);
        System.out.println("[leaks] " + now.row(name, stillReachable, jniBeforeGc.get(name)) + " (" + retired.size()
                + " revisions retired)");
        return now;
    }

    /** Whether {@code now} shows nothing left since {@code baseline}, within the stated tolerances. */
    private static boolean settled(LeakFigures now, LeakFigures baseline) {
        return now.sanswitchThreads().equals(baseline.sanswitchThreads())
                && now.threads("ucx") == baseline.threads("ucx")
                && now.threads("other") <= baseline.threads("other")
                && Math.abs(now.fds() - baseline.fds()) <= FD_TOLERANCE
                && Math.abs(now.tasks() - baseline.tasks()) <= TASK_TOLERANCE
                && now.unheldRegistrations() == baseline.unheldRegistrations()
                && now.providerSockets() == baseline.providerSockets() && now.connections() == baseline.connections()
                && now.services() == baseline.services() && now.mbeans() == baseline.mbeans()
                && now.parkedSessions() == baseline.parkedSessions() && now.retainedBytes() == baseline.retainedBytes();
    }

    private static void assertBackAtBaseline(Map<String, LeakFigures> table, Map<String, Integer> alive) {
        LeakFigures baseline = table.get("baseline");
        List<String> names = new ArrayList<>(table.keySet());
        for (String name : names.subList(1, names.size())) {
            LeakFigures now = table.get(name);
            assertEquals(name + ": retired rdma class loaders still reachable after full GCs", 0, (int) alive.get(name));
            assertEquals(name + ": sanswitch threads", baseline.sanswitchThreads(), now.sanswitchThreads());
            assertEquals(name + ": ucx threads", baseline.threads("ucx"), now.threads("ucx"));
            assertTrue(name + ": other threads " + now.threads() + " against " + baseline.threads(),
                    now.threads("other") <= baseline.threads("other"));
            assertTrue(name + ": open file descriptors " + now.fds() + " against " + baseline.fds(),
                    Math.abs(now.fds() - baseline.fds()) <= FD_TOLERANCE);
            assertTrue(name + ": process threads " + now.tasks() + " against " + baseline.tasks(),
                    Math.abs(now.tasks() - baseline.tasks()) <= TASK_TOLERANCE);
            // The total is not compared: the open resume socket that carries the moving connection holds
            // what its last traffic needed (send buffers and block buffers are registered as the traffic
            // needs them and kept while it is open: 5 or 6 at a checkpoint). What no open connection
            // holds outlived what registered it.
            assertEquals(name + ": memory registrations no open connection holds (" + now.memoryRegistrations()
                    + " in all, " + baseline.memoryRegistrations() + " at the baseline)", baseline.unheldRegistrations(),
                    now.unheldRegistrations());
            assertEquals(name + ": provider sockets", baseline.providerSockets(), now.providerSockets());
            assertEquals(name + ": switch connections", baseline.connections(), now.connections());
            assertEquals(name + ": service registrations", baseline.services(), now.services());
            assertEquals(name + ": sanswitch MBeans", baseline.mbeans(), now.mbeans());
            assertEquals(name + ": parked sessions", baseline.parkedSessions(), now.parkedSessions());
            assertEquals(name + ": bytes kept for a resume", baseline.retainedBytes(), now.retainedBytes());
        }
        // JNI global references: the half-way figure against the last, so that growth with the cycles shows.
        LeakFigures half = table.get(names.get((names.size()) / 2));
        LeakFigures last = table.get(names.get(names.size() - 1));
        assertTrue("JNI global references grow with the cycles: " + half.jniGlobalRefs() + " at "
                + names.get(names.size() / 2) + ", " + last.jniGlobalRefs() + " at the end",
                Math.abs(last.jniGlobalRefs() - half.jniGlobalRefs()) <= JNI_TOLERANCE);
    }

    private void printTable(Map<String, LeakFigures> table, Map<String, Integer> alive,
            Map<String, Integer> jniBeforeGc, long seconds) {
        System.out.println("[leaks] " + CYCLES + " cycles of the rdma bundle (stop, start, update, refresh; traffic"
                + " over ucx and tcp; migrate on, a connection moving to tcp and back, " + moving.moves()
                + " moves in all; bytes kept for a resume just before " + stepsWithBytesKept + " of " + moveSteps
                + " stops, starts and updates) after a warm-up cycle, " + seconds + " s");
        List<String> header = LeakFigures.header();
        System.out.println("[leaks] " + header.get(0) + " JNI global while the revision runs |");
        System.out.println("[leaks] " + header.get(1) + "---|");
        table.forEach((name, f) -> System.out.println("[leaks] " + f.row(name, alive.get(name), jniBeforeGc.get(name))
                + " " + jniRunning.get(name) + " |"));
    }

    /** Waits until the switch has joined the new ucx provider to the open listener (SW-join). */
    private void awaitUcxListening(SwitchServerSocket ucx, String when) throws InterruptedException {
        eventually("the ucx listener listens on ucx " + when, () -> ucx.providers().contains("ucx"));
    }

    /** What a failed cycle leaves to look at: providers, the listener, and who holds its RDMA companion port. */
    private String state(SwitchServerSocket ucx) {
        return "the switch's providers " + sw.providers() + ", the listener at " + ucx.localAddress() + " on "
                + ucx.providers() + ", rdma bundle state " + rdma().getState() + ", statistics " + sw.statistics()
                + ", parked sessions " + probe.parkedSessions() + ", resume ports " + probe.resumePort() + " (tcp) and "
                + probe.returnPort() + " (ucx); the moving connection: " + moving
                + "; TCP sockets at the listener's port + 1 (its RDMA companion, SW-join): "
                + socketsAt(ucx.localAddress().getPort() + 1);
    }

    /**
     * The kernel's TCP sockets on local port {@code port} (/proc/net/tcp, tcp6): state (0A listen, 01
     * established, 06 time-wait) and the remote end, to tell who holds it.
     */
    private static List<String> socketsAt(int port) {
        List<String> found = new ArrayList<>();
        String hex = String.format(":%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String line : java.nio.file.Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 9 && f[1].endsWith(hex)) {
                        found.add(table + ": local " + f[1] + " remote " + f[2] + " state " + f[3] + " inode " + f[9]);
                    }
                }
            } catch (java.io.IOException | RuntimeException e) {
                found.add(table + ": " + e);
            }
        }
        return found;
    }

    private static boolean isCheckpoint(int cycle) {
        return cycle == 0 || cycle % EVERY == 0 || cycle == CYCLES;
    }

    private static String checkpointName(int cycle) {
        return cycle == 0 ? "baseline" : "cycle " + cycle;
    }

    private LeakFigures figures() throws InvalidSyntaxException {
        return LeakFigures.take(sw.statistics(), context.getServiceReferences((String) null, null).length,
                probe.parkedSessions(), probe.registrationsByConnection().values().stream().mapToLong(n -> n).sum(),
                probe.retainedBytes());
    }

    private Bundle rdma() {
        return Bundles.bySymbolicName(context, RDMA_BSN);
    }

    private SocketSwitch awaitSwitch() throws InterruptedException {
        ServiceTracker<SocketSwitch, SocketSwitch> tracker = new ServiceTracker<>(context, SocketSwitch.class, null);
        tracker.open();
        try {
            SocketSwitch s = tracker.waitForService(WAIT_MILLIS);
            assertNotNull("no SocketSwitch", s);
            return s;
        } finally {
            tracker.close();
        }
    }
}
