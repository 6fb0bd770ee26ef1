package io.sanswitch.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static io.sanswitch.itests.Eventually.eventually;

import io.sanswitch.testing.Checks;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The switch in Apache Felix with SCR and ConfigAdmin, over the real TCP and UCX provider bundles
 * (issue 5): provider choice by the SAN subnets of PID io.sanswitch.switch, the fallback rules of
 * docs/rules.md SW-certain, the rdma bundle stopped under streaming load (pending operations aborted, sockets reset,
 * no FD_* event during the cleanup, new connections over TCP at once), updated from a jar and
 * started again (RDMA again), and 50 such cycles with leak figures printed as {@code [swap]} lines. With {@code migrate}
 * off: with it on (the default) the connections move instead of aborting, which MigrationIT shows.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwitchHotSwapIT {
    private static final String RDMA_BSN = "io.sanswitch.rdma";
    private static final String SWITCH_PID = "io.sanswitch.switch";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final long WAIT_MILLIS = 20_000;
    /** Chunks that cross the UCX provider's RDMA threshold (64 KiB) both ways. */
    private static final int[] CHUNKS = {100, 70_000, 4096, 300_000, 1};

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"));
    }

    private SocketSwitch sw;
    private EchoServer echo;

    @Before
    public void sanSubnetIsLoopback() throws Exception {
        configureSwitch("127.0.0.0/8", 30);
        sw = awaitService(SocketSwitch.class, null);
        eventually("the switch runs both providers", () -> sw.providers().containsAll(List.of("tcp", "ucx")));
        // ConfigAdmin delivers the configuration asynchronously: wait until it is in force (a switch
        // listener on loopback listens over ucx only for a SAN address, docs/rules.md SW-subnet), so that the first
        // test does not see the switch's defaults.
        eventually("loopback is a SAN subnet for the switch", () -> {
            try (SwitchServerSocket probe = sw.listen(new InetSocketAddress(LOOPBACK, 0), 1)) {
                return probe.providers().contains("ucx");
            } catch (WsaException e) {
                return false;
            }
        });
    }

    @After
    public void restore() throws Exception {
        if (echo != null) {
            echo.close();
        }
        if (rdmaBundle().getState() != Bundle.ACTIVE) {
            rdmaBundle().start();
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    @Checks("SW-subnet")
    public void thePeersSubnetDecidesBetweenRdmaAndTcp() throws Exception {
        echo = new EchoServer(sw.listen(new InetSocketAddress(LOOPBACK, 0), 16));
        assertEquals("the listener listens on both providers", 2, echo.listener.providers().size());
        try (SwitchSocket s = sw.connect(echo.address())) {
            assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
            roundTrip(s, new Random(1));
        }
        configureSwitch("10.99.0.0/16", 30);
        eventually("loopback is no SAN subnet any more", () -> choiceOf(echo.address()) == Reason.NOT_ON_SAN_SUBNET);
        try (SwitchSocket s = sw.connect(echo.address())) {
            assertEquals("tcp", s.provider());
            roundTrip(s, new Random(2));
        }
        configureSwitch("127.0.0.0/8", 30);
        eventually("loopback is a SAN subnet again", () -> choiceOf(echo.address()) == Reason.SAN_SUBNET);
    }

    @Test
    @Checks({"SW-fallback", "SW-provider-codes"})
    public void aTimedOutRdmaConnectFallsBackToTcpWhileARefusalDoesNot() throws Exception {
        // A plain TCP server (no RDMA listener at port + 1, the default rdmaPortOffset, checked free):
        // UCX reports WSAETIMEDOUT ("try TCP").
        InetAddress peer = InetAddress.getByName("127.0.0.2");
        try (ServerSocket plain = new ServerSocket(FreePorts.freeRun(peer, 2), 4, peer)) {
            plain.setSoTimeout((int) WAIT_MILLIS);
            InetSocketAddress at = new InetSocketAddress(peer, plain.getLocalPort());
            SwitchSocket first = sw.connect(at);
            assertEquals(new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAETIMEDOUT), first.choice());
            try (Socket accepted = plain.accept()) {
                first.outputStream().write("unframed".getBytes());
                assertArrayEquals("the TCP wire carries the bytes as they are", "unframed".getBytes(),
                        new DataInputStream(accepted.getInputStream()).readNBytes(8));
            }
            SwitchSocket second = sw.connect(at);
            assertEquals(new ProviderChoice("tcp", Reason.RECENT_RDMA_FAILURE, WsaError.WSAETIMEDOUT), second.choice());
            plain.accept().close();
            first.close();
            second.close();
        }
    }

    @Test
    @Checks("SW-certain")
    public void aRefusedRdmaConnectFailsWithoutATcpAttempt() throws Exception {
        // A switch listener with a backlog of 1 that is full: its condition function refuses the RDMA
        // request (docs/rules.md AC-condition), the connect fails with WSAECONNREFUSED. Had the switch fallen back, its
        // TCP connect to the same listener's TCP port would have succeeded (the kernel completes the
        // handshake before any condition function runs), so the failure itself shows there was no TCP
        // attempt (docs/rules.md SW-certain). A refusal is not remembered.
        InetAddress refusing = InetAddress.getByName("127.0.0.3");
        try (SwitchServerSocket full = sw.listen(new InetSocketAddress(refusing, 0), 1)) {
            SwitchSocket queued = sw.connect(full.localAddress());
            assertEquals("ucx", queued.provider());
            try {
                sw.connect(full.localAddress());
                fail("a refused RDMA connect must not fall back");
            } catch (WsaException e) {
                assertEquals(WsaError.WSAECONNREFUSED, e.error());
            }
            full.accept().close();
            try (SwitchSocket again = sw.connect(full.localAddress())) {
                assertEquals("a refusal is not remembered", new ProviderChoice("ucx", Reason.SAN_SUBNET, null),
                        again.choice());
            }
            queued.close();
        }
    }

    @Test
    @Checks({"LC-bundle-stop", "LC-b", "LC-c", "SW-withdrawn", "SW-established", "SW-join"})
    public void stoppingTheRdmaBundleUnderLoadAbortsResetsAndSendsNewConnectionsOverTcpThenAnUpdateBringsRdmaBack()
            throws Exception {
        echo = new EchoServer(sw.listen(new InetSocketAddress(LOOPBACK, 0), 64));
        SanServiceProvider ucx = awaitService(SanServiceProvider.class, "(sanswitch.transport=ucx)");
        List<Streamer> clients = startStreamers(4);
        long eventsBefore = sw.statistics().eventsDuringCleanup();

        SwapTiming t = stopRdmaUnderLoad(clients);
        System.out.println("[swap] rdma bundle stop under load: stop() took " + t.stopMillis
                + " ms; bundle stop -> first new TCP connection " + t.firstTcpMillis + " ms; "
                + t.abortedOperations + " pending operations aborted");
        // How soon is a figure, printed above and held as a median over the 50 cycles below: one stop
        // timed against a bound failed the build on a loaded machine (129 ms with every core busy).
        // What one stop must show is that a new connection went over TCP (stopRdmaUnderLoad).
        assertEquals("no FD_* event reached the switch during the cleanup", eventsBefore,
                sw.statistics().eventsDuringCleanup());
        try {
            ucx.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
            fail("a reference to the stopped provider still worked");
        } catch (WsaException e) {
            assertEquals("references to the stopped provider are stale", WsaError.WSANOTINITIALISED, e.error());
        }
        assertEquals(List.of("tcp"), sw.providers());
        assertEquals(List.of("tcp"), echo.listener.providers());

        updateAndStartRdma();
        try (SwitchSocket s = sw.connect(echo.address())) {
            assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
            roundTrip(s, new Random(9));
        }
    }

    @Test
    @Checks({"LC-bundle-stop", "SW-withdrawn"})
    public void fiftySwapCyclesUnderLoadLeakNoThreadsSocketsOrRegistrations() throws Exception {
        echo = new EchoServer(sw.listen(new InetSocketAddress(LOOPBACK, 0), 64));
        try (SwitchSocket warm = sw.connect(echo.address())) {
            roundTrip(warm, new Random(3));
        }
        // The figures before are taken after the first cycle: the framework may start threads of its
        // own lazily (once per framework, not per cycle); every later cycle must leave nothing behind.
        Snapshot before = null;
        List<Long> firstTcp = new ArrayList<>();
        int aborted = 0;
        for (int cycle = 0; cycle < 50; cycle++) {
            if (cycle == 1) {
                before = snapshot();
            }
            List<Streamer> clients = startStreamers(2);
            SwapTiming t = stopRdmaUnderLoad(clients);
            firstTcp.add(t.firstTcpMillis);
            aborted += t.abortedOperations;
            updateAndStartRdma();
            try (SwitchSocket s = sw.connect(echo.address())) {
                assertEquals("cycle " + cycle, "ucx", s.provider());
                roundTrip(s, new Random(cycle));
            }
        }
        Snapshot after = snapshotLike(before);
        firstTcp.sort(null);
        System.out.println("[swap] 50 cycles: bundle stop -> first new TCP connection: median "
                + firstTcp.get(firstTcp.size() / 2) + " ms, max " + firstTcp.get(firstTcp.size() - 1) + " ms; "
                + aborted + " pending operations aborted, each exactly as WSA_OPERATION_ABORTED");
        System.out.println("[swap] before 50 cycles: " + before);
        System.out.println("[swap] after  50 cycles: " + after);
        assertEquals("sanswitch threads", before.sanswitchThreads, after.sanswitchThreads);
        assertEquals("threads started and left by 49 cycles", Set.of(), after.threadsBeyond(before));
        assertEquals("provider sockets", before.stats.providerSockets(), after.stats.providerSockets());
        assertEquals("connections", before.stats.connections(), after.stats.connections());
        assertEquals("memory registrations", before.stats.memoryRegistrations(), after.stats.memoryRegistrations());
        assertEquals("engine sockets", before.engineSockets, after.engineSockets);
        assertEquals("service registrations", before.services, after.services);
        assertEquals("FD_* events during cleanups", 0, after.stats.eventsDuringCleanup());
        // Over 50 cycles the median is held to the 100 ms target, so that one pause of the JVM (a GC for
        // direct buffers, a loaded machine) does not fail the build.
        assertTrue("bundle stop -> first TCP connection over 50 cycles " + firstTcp,
                firstTcp.get(firstTcp.size() / 2) < 100);
    }

    // ------------------------------------------------------------------ the swap

    record SwapTiming(long stopMillis, long firstTcpMillis, int abortedOperations) {
    }

    /**
     * Stops the rdma bundle while {@code clients} stream, with a prober connecting in a loop from the
     * moment stop is called; checks that every streaming client's pending operation was aborted and
     * that the socket is reset afterwards.
     */
    private SwapTiming stopRdmaUnderLoad(List<Streamer> clients) throws Exception {
        for (Streamer c : clients) {
            assertTrue("client streamed over ucx", c.awaitRounds(3));
            assertEquals("ucx", c.socket.provider());
        }
        // A streaming client may be between two operations at the very moment its connection breaks;
        // this one is not: its receive waits for data that never comes, so it is pending at the stop.
        SwitchSocket waiter = sw.connect(echo.address());
        assertEquals("ucx", waiter.provider());
        roundTrip(waiter, new Random(0)); // the session is set up: nothing more arrives for it
        CompletableFuture<Integer> pendingReceive = waiter.receive(ByteBuffer.allocate(16)).toCompletableFuture();
        AtomicLong firstTcpAt = new AtomicLong();
        AtomicReference<Throwable> proberFailure = new AtomicReference<>();
        CountDownLatch go = new CountDownLatch(1);
        Thread prober = new Thread(() -> {
            try {
                go.await();
                while (true) {
                    SwitchSocket s = sw.connect(echo.address());
                    boolean tcp = "tcp".equals(s.provider());
                    long now = System.nanoTime();
                    s.abort();
                    if (tcp) {
                        firstTcpAt.set(now);
                        return;
                    }
                }
            } catch (Throwable e) {
                proberFailure.set(e);
            }
        }, "it-prober");
        prober.start();
        long start = System.nanoTime();
        go.countDown();
        rdmaBundle().stop();
        long stopped = System.nanoTime();
        prober.join(WAIT_MILLIS);
        if (proberFailure.get() != null) {
            throw new AssertionError("the prober failed", proberFailure.get());
        }
        assertTrue("no TCP connection after the stop", firstTcpAt.get() != 0);
        try {
            pendingReceive.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            fail("the receive pending at the stop completed");
        } catch (ExecutionException e) {
            assertEquals("the receive pending at the stop: " + e.getCause().getMessage(), WsaError.WSA_OPERATION_ABORTED,
                    ((WsaException) e.getCause()).error());
        }
        try {
            waiter.send(ByteBuffer.wrap(new byte[1])).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            fail("a socket of the stopped provider still sends");
        } catch (ExecutionException e) {
            assertEquals("after the abort", WsaError.WSAECONNRESET, ((WsaException) e.getCause()).error());
        }
        waiter.close();
        int abortedPending = 1;
        for (Streamer c : clients) {
            abortedPending += c.abortedThenReset();
            try {
                c.socket.send(ByteBuffer.wrap(new byte[1])).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                fail("a socket of the stopped provider still sends");
            } catch (ExecutionException e) {
                assertEquals("later operations", WsaError.WSAECONNRESET, ((WsaException) e.getCause()).error());
            }
            c.socket.close();
        }
        return new SwapTiming((stopped - start) / 1_000_000, (firstTcpAt.get() - start) / 1_000_000, abortedPending);
    }

    /** Updates the rdma bundle from a copy of its jar (a new revision) and starts it; waits for the switch. */
    private void updateAndStartRdma() throws Exception {
        Bundle rdma = rdmaBundle();
        Bundles.updateFromCopy(rdma, "sanswitch.bundle.rdma");
        rdma.start();
        eventually("the switch uses ucx again after the update", () -> sw.providers().contains("ucx"));
        if (echo != null) {
            eventually("the open listener listens on ucx again", () -> echo.listener.providers().contains("ucx"));
        }
    }

    // ------------------------------------------------------------------ leak figures

    private final class Snapshot {
        final int threads;
        final Set<Thread> live = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .collect(Collectors.toSet());
        final TreeMap<String, Integer> sanswitchThreads = new TreeMap<>();
        final SwitchStatistics stats;
        final Object engineSockets;
        final int services;

        Snapshot() throws Exception {
            Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                    .map(t -> t.getName().replaceAll("[0-9]+$", "N"))
                    .filter(n -> n.startsWith("sanswitch-"))
                    .forEach(n -> sanswitchThreads.merge(n, 1, Integer::sum));
            threads = (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
            stats = sw.statistics();
            Map<String, Object> engines = new TreeMap<>();
            for (ServiceReference<?> r : context.getServiceReferences(SanServiceProvider.class.getName(), null)) {
                Object engine = context.getService(r);
                // ProviderEngine.openSockets() is public; the core exports no package, so reflection.
                engines.put(String.valueOf(r.getProperty("sanswitch.transport")),
                        engine.getClass().getMethod("openSockets").invoke(engine));
                context.ungetService(r);
            }
            engineSockets = engines;
            services = context.getServiceReferences((String) null, null).length;
        }

        /**
         * Names of the live threads that {@code earlier} did not have. The sanswitch threads are
         * compared by name and count instead ({@link #sanswitchThreads}): a restarted provider runs
         * new threads of the same names.
         */
        Set<String> threadsBeyond(Snapshot earlier) {
            return live.stream().filter(t -> !earlier.live.contains(t)).map(Thread::getName)
                    .filter(n -> !n.startsWith("sanswitch-")).collect(Collectors.toSet());
        }

        /** Whether nothing leaked since {@code earlier}: no new thread, the same resource figures. */
        boolean settledLike(Snapshot earlier) {
            return threadsBeyond(earlier).isEmpty() && sanswitchThreads.equals(earlier.sanswitchThreads)
                    && stats.providerSockets() == earlier.stats.providerSockets()
                    && stats.connections() == earlier.stats.connections()
                    && stats.memoryRegistrations() == earlier.stats.memoryRegistrations()
                    && engineSockets.equals(earlier.engineSockets) && services == earlier.services;
        }

        @Override
        public String toString() {
            return "threads " + threads + " " + sanswitchThreads + ", provider sockets " + stats.providerSockets()
                    + ", engine sockets " + engineSockets + ", switch connections " + stats.connections()
                    + ", memory registrations " + stats.memoryRegistrations() + ", service registrations " + services
                    + ", FD_* events during cleanups " + stats.eventsDuringCleanup();
        }
    }

    private Snapshot snapshot() throws Exception {
        // Connections closed just now end on the switch's threads, and their provider sockets close on its
        // close threads (docs/rules.md SW-close-off-io): wait until none is left but the switch's own and the
        // echo server's listener, one on each running provider.
        eventually("the switch's connections ended and their provider sockets closed", () -> {
            SwitchStatistics st = sw.statistics();
            Map<String, Integer> expected = new HashMap<>(st.switchSockets());
            for (String p : sw.providers()) {
                expected.merge(p, 1, Integer::sum);
            }
            return st.connections() == 0 && st.providerSockets().equals(expected);
        });
        return new Snapshot();
    }

    /**
     * The figures once they match {@code before} (connections and their threads end on the switch's
     * threads a moment after the close), or the last ones taken when they do not within the wait,
     * for the caller's assertions to name what leaked.
     */
    private Snapshot snapshotLike(Snapshot before) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        Snapshot now = snapshot();
        while (!now.settledLike(before) && System.nanoTime() - deadline < 0) {
            Thread.sleep(10);
            now = new Snapshot();
        }
        return now;
    }

    // ------------------------------------------------------------------ helpers

    /** An echo server on a switch listener: one thread per accepted connection. */
    private static final class EchoServer implements AutoCloseable {
        final SwitchServerSocket listener;
        final List<SwitchSocket> accepted = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        EchoServer(SwitchServerSocket listener) {
            this.listener = listener;
            acceptor = new Thread(this::acceptLoop, "it-echo-acceptor");
            acceptor.start();
        }

        InetSocketAddress address() {
            return listener.localAddress();
        }

        private void acceptLoop() {
            while (true) {
                SwitchSocket s;
                try {
                    s = listener.accept();
                } catch (WsaException closed) {
                    return;
                }
                accepted.add(s);
                Thread echo = new Thread(() -> {
                    byte[] buffer = new byte[64 * 1024];
                    try (InputStream in = s.inputStream(); OutputStream out = s.outputStream()) {
                        for (int n; (n = in.read(buffer)) > 0;) {
                            out.write(buffer, 0, n);
                        }
                    } catch (IOException ended) {
                        s.abort();
                    } finally {
                        accepted.remove(s);
                    }
                }, "it-echo");
                echo.setDaemon(true);
                echo.start();
            }
        }

        @Override
        public void close() {
            listener.close();
            try {
                acceptor.join(WAIT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (SwitchSocket s : accepted) {
                s.close();
            }
        }
    }

    /** One operation that failed, and when it was issued. */
    record Failed(long issuedNanos, WsaError error, String message) {
    }

    /**
     * A client streaming chunks to the echo server and checking them, until its socket fails. Every
     * operation's failure is recorded with the time the operation was issued: those issued before
     * the bundle stop were pending when it came.
     */
    private final class Streamer {
        final SwitchSocket socket;
        private final LinkedBlockingQueue<Integer> rounds = new LinkedBlockingQueue<>();
        final List<Failed> failures = new CopyOnWriteArrayList<>();
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile Throwable broken;

        Streamer(SwitchSocket socket, int seed) {
            this.socket = socket;
            Thread t = new Thread(() -> run(new Random(seed)), "it-streamer");
            t.setDaemon(true);
            t.start();
        }

        private <T> CompletableFuture<T> tracked(java.util.function.Supplier<java.util.concurrent.CompletionStage<T>> op) {
            long issued = System.nanoTime();
            return op.get().toCompletableFuture().whenComplete((v, e) -> {
                if (e instanceof WsaException w) {
                    failures.add(new Failed(issued, w.error(), w.getMessage()));
                }
            });
        }

        private CompletableFuture<Void> receiveFully(ByteBuffer into) {
            return tracked(() -> socket.receive(into)).thenCompose(n -> {
                if (n < 0) {
                    return CompletableFuture.failedFuture(new AssertionError("end of stream"));
                }
                return into.hasRemaining() ? receiveFully(into) : CompletableFuture.completedFuture(null);
            });
        }

        private void run(Random random) {
            try {
                for (int round = 0;; round++) {
                    byte[] data = new byte[CHUNKS[round % CHUNKS.length]];
                    random.nextBytes(data);
                    // The receive is posted before the send, so one is pending whenever the stop comes.
                    byte[] got = new byte[data.length];
                    CompletableFuture<Void> received = receiveFully(ByteBuffer.wrap(got));
                    CompletableFuture<Integer> sent = tracked(() -> socket.send(ByteBuffer.wrap(data)));
                    boolean sentOk = settled(sent);
                    if (!settled(received) || !sentOk) {
                        return; // the stream broke: what failed is recorded
                    }
                    if (!java.util.Arrays.equals(data, got)) {
                        broken = new AssertionError("echo differs in round " + round);
                        return;
                    }
                    rounds.add(round);
                }
            } catch (InterruptedException e) {
                broken = e;
            } finally {
                ended.countDown();
            }
        }

        /** Waits for {@code f}; {@code false} if it failed with a WsaException (recorded), else rethrows. */
        private boolean settled(CompletableFuture<?> f) throws InterruptedException {
            try {
                f.get();
                return true;
            } catch (ExecutionException e) {
                if (e.getCause() instanceof WsaException) {
                    return false;
                }
                broken = e.getCause();
                return false;
            }
        }

        boolean awaitRounds(int n) throws InterruptedException {
            for (int i = 0; i < n; i++) {
                if (rounds.poll(WAIT_MILLIS, TimeUnit.MILLISECONDS) == null) {
                    return false;
                }
            }
            return true;
        }

        /**
         * Waits until the stream broke and checks its failures in the order the operations were
         * issued: those pending when the connection broke failed with WSA_OPERATION_ABORTED, those
         * issued after with WSAECONNRESET, never the other way round.
         *
         * @return how many were aborted
         */
        int abortedThenReset() throws Exception {
            assertTrue("the client did not stop streaming", ended.await(WAIT_MILLIS, TimeUnit.MILLISECONDS));
            if (broken != null) {
                throw new AssertionError("the client failed otherwise", broken);
            }
            List<Failed> byIssue = new ArrayList<>(failures);
            byIssue.sort(java.util.Comparator.comparingLong(Failed::issuedNanos));
            int aborted = 0;
            boolean resetSeen = false;
            for (Failed f : byIssue) {
                if (f.error() == WsaError.WSA_OPERATION_ABORTED) {
                    assertTrue("an aborted operation issued after one that saw the reset: " + byIssue, !resetSeen);
                    aborted++;
                } else {
                    assertEquals("failures " + byIssue, WsaError.WSAECONNRESET, f.error());
                    resetSeen = true;
                }
            }
            return aborted;
        }
    }

    private List<Streamer> startStreamers(int n) throws Exception {
        List<Streamer> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SwitchSocket s = sw.connect(echo.address());
            assertEquals(new ProviderChoice("ucx", Reason.SAN_SUBNET, null), s.choice());
            all.add(new Streamer(s, i));
        }
        return all;
    }

    /** Receives until {@code into} is full; fails with the first failure. */
    private static CompletableFuture<Void> receiveFully(SwitchSocket s, ByteBuffer into) {
        return s.receive(into).toCompletableFuture().thenCompose(n -> {
            if (n < 0) {
                return CompletableFuture.failedFuture(new WsaException(WsaError.WSAECONNRESET, "end of stream"));
            }
            return into.hasRemaining() ? receiveFully(s, into) : CompletableFuture.completedFuture(null);
        });
    }

    private static void roundTrip(SwitchSocket s, Random random) throws Exception {
        for (int size : CHUNKS) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            byte[] got = new byte[size];
            CompletableFuture<Void> received = receiveFully(s, ByteBuffer.wrap(got));
            s.send(ByteBuffer.wrap(data)).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            received.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            assertArrayEquals(size + " bytes over " + s.provider(), data, got);
        }
    }

    private Reason choiceOf(InetSocketAddress at) {
        try (SwitchSocket s = sw.connect(at)) {
            return s.choice().reason();
        } catch (WsaException e) {
            return null;
        }
    }

    private void configureSwitch(String subnet, int failureMemorySeconds) throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        ConfigurationAdmin cm = context.getService(ref);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("sanSubnets", new String[] {subnet});
        props.put("rdmaFailureMemorySeconds", failureMemorySeconds);
        props.put("connectTimeoutMillis", 3000);
        // The connections here are between two switches (this one's echo server and clients): they see the final
        // cleanup's aborts (docs/rules.md LC-b, SW-withdrawn) only without migration; with it, the default, they
        // move to tcp instead (MigrationIT).
        props.put("migrate", false);
        cm.getConfiguration(SWITCH_PID, "?").update(props);
        context.ungetService(ref);
    }

    private Bundle rdmaBundle() {
        for (Bundle b : context.getBundles()) {
            if (RDMA_BSN.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("no bundle " + RDMA_BSN);
        return null;
    }

    private <S> S awaitService(Class<S> type, String filter) throws Exception {
        String f = "(objectClass=" + type.getName() + ")";
        ServiceTracker<S, S> tracker = new ServiceTracker<>(context,
                context.createFilter(filter == null ? f : "(&" + f + filter + ")"), null);
        tracker.open();
        try {
            S service = tracker.waitForService(WAIT_MILLIS);
            assertNotNull("no " + type.getSimpleName() + " " + (filter == null ? "" : filter), service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
