package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * Issue 13 in Apache Felix: with {@code migrate} on (its default; PID io.sanswitch.switch sets no
 * {@code migrate} here, so this is what an operator gets), connections over the
 * UCX bundle keep streaming when that bundle is stopped, and when it is updated while active
 * (docs/migration.md section 4, docs/rules.md SW-migrate-trigger): four connections stream both
 * ways with a running SHA-256 on each end, the application sees no error, both digests of each
 * direction agree, and the longest pause each receiving end saw is printed as {@code [move]} lines.
 * Both ends are on the one switch of the framework, so a stop withdraws the provider under both.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MigrationIT {
    private static final String RDMA_BSN = "io.sanswitch.rdma";
    private static final String SWITCH_PID = "io.sanswitch.switch";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final long WAIT_MILLIS = 30_000;
    private static final int RESUME_TIMEOUT_MILLIS = 5_000;
    /** Chunk sizes: DATA frames and blocks (the UCX provider's RDMA threshold is 64 KiB). */
    private static final int[] CHUNKS = {100, 70_000, 4096, 300_000, 1, 1 << 20};
    private static final long PROGRESS = 2L << 20;
    private static final int CONNECTIONS = 4;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"));
    }

    private SocketSwitch sw;
    private SwitchServerSocket listener;

    @Before
    public void migrationOn() throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("sanSubnets", new String[] {"127.0.0.0/8"});
        // No migrate: on by default (docs/migration.md).
        props.put("resumeTimeoutMillis", RESUME_TIMEOUT_MILLIS);
        context.getService(ref).getConfiguration(SWITCH_PID, "?").update(props);
        context.ungetService(ref);
        sw = awaitService(SocketSwitch.class);
        eventually("the switch runs both providers", () -> sw.providers().containsAll(List.of("tcp", "ucx")));
        // ConfigAdmin delivers the configuration asynchronously; loopback as a SAN subnet shows that it
        // is in force (a listener listens over ucx only for a SAN address, docs/rules.md SW-subnet).
        eventually("the configuration is in force", () -> {
            try (SwitchServerSocket probe = sw.listen(new InetSocketAddress(LOOPBACK, 0), 1)) {
                return probe.providers().contains("ucx");
            } catch (WsaException e) {
                return false;
            }
        });
        listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 16);
    }

    @After
    public void restore() throws Exception {
        if (listener != null) {
            listener.close();
        }
        if (rdmaBundle().getState() != Bundle.ACTIVE) {
            rdmaBundle().start();
        }
    }

    @Test
    @Checks({"SW-migrate-trigger", "SW-migrate-exactly-once"})
    public void streamsGoOnAcrossABundleStopAndAnUpdateWithoutAnErrorAndWithEqualDigests() throws Exception {
        List<Pump> pumps = new ArrayList<>();
        List<SwitchSocket> sockets = new ArrayList<>();
        try {
            // The first four: the bundle is stopped under them, then updated and started again.
            open(sockets, pumps, 0);
            awaitProgress(pumps, "over ucx");
            Bundle rdma = rdmaBundle();
            long stop = System.nanoTime();
            rdma.stop();
            System.out.printf("[move] rdma bundle stopped under %d connections in %d ms%n", CONNECTIONS,
                    (System.nanoTime() - stop) / 1_000_000);
            awaitProgress(pumps, "after the stop");
            for (SwitchSocket s : sockets) {
                assertEquals("moved to tcp: " + s, "tcp", s.provider());
                assertEquals("its choice says so (docs/rules.md SW-migrate-visible): " + s.history(),
                        io.sanswitch.api.ProviderChoice.Reason.MOVED, s.choice().reason());
            }
            updateFromCopy(rdma);
            rdma.start();
            eventually("the switch uses ucx again", () -> sw.providers().contains("ucx"));
            eventually("the listener listens on ucx again", () -> listener.providers().contains("ucx"));
            awaitProgress(pumps, "after the update");

            // Four more, over the new revision: it is updated while active (stop, new revision, start).
            open(sockets, pumps, CONNECTIONS);
            awaitProgress(pumps, "over ucx again");
            long update = System.nanoTime();
            updateFromCopy(rdma);
            System.out.printf("[move] rdma bundle updated while active under %d connections in %d ms%n",
                    2 * CONNECTIONS, (System.nanoTime() - update) / 1_000_000);
            awaitProgress(pumps, "after the update while active");

            for (Pump p : pumps) {
                p.stop();
            }
            for (Pump p : pumps) {
                p.awaitEnd();
            }
            for (int i = 0; i < pumps.size(); i += 2) {
                Pump out = pumps.get(i);
                Pump back = pumps.get(i + 1);
                System.out.printf("[move] connection %d: %d and %d bytes, longest pause %d and %d ms; %s%n", i / 2,
                        out.received.get(), back.received.get(), out.longestPauseMillis(), back.longestPauseMillis(),
                        out.from.history());
            }
            for (Pump p : pumps) {
                p.check();
            }
        } finally {
            for (Pump p : pumps) {
                p.stop();
            }
            for (SwitchSocket s : sockets) {
                s.close();
            }
        }
        // The listener's over tcp and ucx, the resume port's over tcp and the RDMA resume port's (docs/migration.md section 6).
        eventually("no provider socket left but the listener's and the resume ports'",
                () -> sw.statistics().totalProviderSockets() <= 4);
    }

    /** Opens {@link #CONNECTIONS} connections over ucx, each with a pump each way. */
    private void open(List<SwitchSocket> sockets, List<Pump> pumps, int firstSeed) throws Exception {
        for (int i = 0; i < CONNECTIONS; i++) {
            CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
            SwitchSocket client = sw.connect(listener.localAddress());
            SwitchSocket server = accepted.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            assertEquals("over ucx: " + client.choice(), "ucx", client.provider());
            sockets.add(client);
            sockets.add(server);
            int seed = firstSeed + i;
            pumps.add(new Pump("client " + seed + " -> server", client, server, 2 * seed));
            pumps.add(new Pump("server " + seed + " -> client", server, client, 2 * seed + 1));
        }
    }

    /** Waits until every pump's receiver got {@link #PROGRESS} bytes more than now. */
    private static void awaitProgress(List<Pump> pumps, String when) throws Exception {
        long[] from = pumps.stream().mapToLong(p -> p.received.get()).toArray();
        for (int i = 0; i < pumps.size(); i++) {
            Pump p = pumps.get(i);
            long target = from[i] + PROGRESS;
            boolean reached = p.awaitReceived(target, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS));
            p.failIfBroken();
            if (!reached) {
                fail(p.name + " stopped " + when + ": " + p.received.get() + " bytes received, sent " + p.sent.get()
                        + "; sender " + p.from + ", receiver " + p.to);
            }
        }
    }

    /**
     * One direction of one connection: a thread sends pseudo-random chunks, another receives them,
     * each with its own SHA-256. The receiver learns the total only when the sender has stopped (one
     * JVM: it reads the sender's count), and reads until it has it all.
     */
    private static final class Pump {
        final String name;
        final SwitchSocket from;
        final SwitchSocket to;
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        private final MessageDigest sentDigest;
        private final MessageDigest receivedDigest;
        private final List<Throwable> failures = new CopyOnWriteArrayList<>();
        private final CountDownLatch sending = new CountDownLatch(1);
        private final CountDownLatch receiving = new CountDownLatch(1);
        /** Notified whenever {@link #received} grows or a failure is kept: waiters wait for it, never sleep. */
        private final Object progress = new Object();
        private volatile boolean stop;
        private volatile long longestPauseNanos;

        Pump(String name, SwitchSocket from, SwitchSocket to, int seed) throws Exception {
            this.name = name;
            this.from = from;
            this.to = to;
            this.sentDigest = MessageDigest.getInstance("SHA-256");
            this.receivedDigest = MessageDigest.getInstance("SHA-256");
            start("it-send-" + seed, () -> send(new Random(seed)), sending);
            start("it-receive-" + seed, this::receive, receiving);
        }

        private void start(String thread, Task task, CountDownLatch done) {
            Thread t = new Thread(() -> {
                try {
                    task.run();
                } catch (Throwable e) {
                    failures.add(e);
                    progressed();
                } finally {
                    done.countDown();
                }
            }, thread);
            t.setDaemon(true);
            t.start();
        }

        private void send(Random random) throws Exception {
            for (int round = 0; !stop; round++) {
                int size = CHUNKS[round % CHUNKS.length];
                byte[] data = new byte[size];
                random.nextBytes(data);
                ByteBuffer b = round % 2 == 0 ? ByteBuffer.wrap(data) : ByteBuffer.allocateDirect(size).put(data).flip();
                while (b.hasRemaining()) {
                    from.send(b).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                }
                sentDigest.update(data);
                sent.addAndGet(size);
            }
        }

        private void receive() throws Exception {
            ByteBuffer into = ByteBuffer.allocateDirect(1 << 20);
            byte[] copy = new byte[into.capacity()];
            long last = System.nanoTime();
            while (true) {
                CompletableFuture<Integer> pending = to.receive(into.clear()).toCompletableFuture();
                Integer got = null;
                long since = System.nanoTime();
                while (got == null) {
                    try {
                        got = pending.get(20, TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.TimeoutException e) {
                        if (sending.getCount() == 0 && received.get() == sent.get()) {
                            return; // all there; the receive still pending fails when the socket closes
                        }
                        if (System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS)) {
                            throw new AssertionError(name + ": nothing arrived for " + WAIT_MILLIS + " ms", e);
                        }
                    }
                }
                int n = got;
                if (n < 0) {
                    throw new AssertionError(name + ": end of stream after " + received.get() + " bytes");
                }
                long now = System.nanoTime();
                longestPauseNanos = Math.max(longestPauseNanos, now - last);
                last = now;
                into.flip().get(copy, 0, n);
                receivedDigest.update(copy, 0, n);
                received.addAndGet(n);
                progressed();
            }
        }

        private void progressed() {
            synchronized (progress) {
                progress.notifyAll();
            }
        }

        /**
         * Waits until the receiver has {@code target} bytes, a failure is kept or {@code deadline}
         * ({@link System#nanoTime()}) passes; whether the target was reached.
         */
        boolean awaitReceived(long target, long deadline) throws InterruptedException {
            synchronized (progress) {
                long left;
                while (received.get() < target && failures.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                }
            }
            return received.get() >= target;
        }

        void stop() {
            stop = true;
        }

        void awaitEnd() throws InterruptedException {
            assertTrue(name + " did not end: sent " + sent.get() + ", received " + received.get() + " " + failures,
                    sending.await(WAIT_MILLIS, TimeUnit.MILLISECONDS) && receiving.await(WAIT_MILLIS, TimeUnit.MILLISECONDS));
        }

        long longestPauseMillis() {
            return longestPauseNanos / 1_000_000;
        }

        void failIfBroken() {
            if (!failures.isEmpty()) {
                Throwable first = failures.get(0);
                System.out.println("[move] " + name + " failed: " + first + "; sender " + from + ", receiver " + to);
                throw new AssertionError(name + " failed (" + first + ") after sending " + sent.get() + " and receiving "
                        + received.get() + " bytes; sender " + from + ", receiver " + to, first);
            }
        }

        void check() {
            failIfBroken();
            assertEquals(name + ": bytes", sent.get(), received.get());
            assertArrayEquals(name + ": SHA-256 of what was sent and of what arrived", sentDigest.digest(),
                    receivedDigest.digest());
            assertTrue(name + ": the longest pause, " + longestPauseMillis() + " ms, is no reconnect (under the resume timeout)",
                    longestPauseMillis() < RESUME_TIMEOUT_MILLIS);
        }
    }

    @FunctionalInterface
    private interface Task {
        void run() throws Exception;
    }

    private static void updateFromCopy(Bundle rdma) throws Exception {
        Bundles.updateFromCopy(rdma, "sanswitch.bundle.rdma");
    }

    private Bundle rdmaBundle() {
        return Bundles.bySymbolicName(context, RDMA_BSN);
    }

    private <S> S awaitService(Class<S> type) throws Exception {
        return Bundles.awaitService(context, type, WAIT_MILLIS);
    }
}
