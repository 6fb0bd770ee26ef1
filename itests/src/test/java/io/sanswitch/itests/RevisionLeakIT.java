package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;
import javax.management.ObjectName;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.testing.Checks;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Issue 13: a backend bundle's retired revisions are collected. Each cycle carries a connection over
 * the provider through the switch (to an application listener pinned to it and open throughout),
 * then updates the bundle from its jar and refreshes it (what {@code update <id>} then {@code
 * refresh <id>} does in a shell); the first cycle also stops and starts the bundle. Afterwards the
 * class loader of every retired revision must become unreachable. A loader still reachable means some other bundle (or a thread, a JNI global
 * reference, a static cache) keeps an object of the old revision: its classes, its metaspace and,
 * for the rdma bundle, its mapping of the native libraries stay for good.
 *
 * <p>{@code -Drevisions.cycles=N} (default 3) sets the cycles per bundle; {@code
 * -Drevisions.heapDump=FILE} writes a heap dump when loaders stay reachable, to find their path to
 * a GC root.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RevisionLeakIT {
    private static final long WAIT_MILLIS = 60_000;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CYCLES = Integer.getInteger("revisions.cycles", 3);

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        // The native container runs the framework in this JVM: revisions.* reach the test as they are.
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"));
    }

    @Test
    @Checks("LC-revision")
    public void retiredTcpRevisionsAreCollected() throws Exception {
        assertRetiredRevisionsCollected("io.sanswitch.tcp", "sanswitch.bundle.tcp", "tcp");
    }

    @Test
    @Checks("LC-revision")
    public void retiredRdmaRevisionsAreCollected() throws Exception {
        assertRetiredRevisionsCollected("io.sanswitch.rdma", "sanswitch.bundle.rdma", "ucx");
    }

    private void assertRetiredRevisionsCollected(String bsn, String jarProperty, String provider) throws Exception {
        SocketSwitch sw = awaitService(SocketSwitch.class);
        List<WeakReference<ClassLoader>> retired = new ArrayList<>();
        // An application's listener, open across every swap: the switch rejoins it to each new provider.
        try (SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4, provider)) {
            for (int i = 0; i < CYCLES; i++) {
                eventually("the listener listens on " + provider + " before cycle " + i,
                        () -> listener.providers().contains(provider));
                transfer(sw, listener, provider);
                if (i == 0) {
                    // A stop and start of the same revision first: what it releases at the stop it must take again.
                    bundle(bsn).stop();
                    bundle(bsn).start();
                    eventually("the listener listens on " + provider + " after a restart",
                            () -> listener.providers().contains(provider));
                    transfer(sw, listener, provider);
                }
                retired.add(currentLoader(bundle(bsn)));
                updateAndRefresh(bundle(bsn), Path.of(System.getProperty(jarProperty)));
            }
            eventually("the listener listens on " + provider + " after the last cycle",
                    () -> listener.providers().contains(provider));
            transfer(sw, listener, provider);
        }
        long gcStart = System.nanoTime();
        int alive = awaitCollected(retired);
        System.err.printf("[revisions] %s: %d of %d retired class loaders still reachable after %d ms of full GCs;"
                + " copies of libjucx.so mapped: %d%n", bsn, alive, CYCLES,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - gcStart), mappedCopies("libjucx"));
        if (alive > 0) {
            dumpHeapIfAsked();
        }
        assertEquals(alive + " of " + CYCLES + " retired class loaders of " + bsn + " still reachable after "
                + WAIT_MILLIS + " ms of full GCs", 0, alive);
    }

    /**
     * One connection over {@code provider} through the switch, accepted by {@code listener}: a chunk
     * above the UCX provider's RDMA threshold (64 KiB) one way and back, then closed.
     */
    private static void transfer(SocketSwitch sw, SwitchServerSocket listener, String provider) throws Exception {
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        try (SwitchSocket client = connectOnceJoined(sw, listener, provider);
                SwitchSocket server = accepted.get(WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
            assertEquals(provider, client.provider());
            byte[] data = new byte[70_000];
            new Random(provider.hashCode()).nextBytes(data);
            client.send(ByteBuffer.wrap(data)).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            ByteBuffer got = ByteBuffer.allocate(data.length);
            receiveFully(server, got);
            server.send(got.flip()).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            ByteBuffer back = ByteBuffer.allocate(data.length);
            receiveFully(client, back);
            assertArrayEquals("echo over " + provider, data, back.array());
        }
    }

    /**
     * A connect right after a swap may still meet the listener's socket on the retired provider (the
     * switch drops it and joins the new provider on its own threads; both carry the same name): a
     * refused or reset connect is tried again, bounded. This test is about what the swap leaves
     * behind; SwitchHotSwapIT checks the connections across a swap.
     */
    private static SwitchSocket connectOnceJoined(SocketSwitch sw, SwitchServerSocket listener, String provider)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        for (;;) {
            try {
                return sw.connect(listener.localAddress(), provider);
            } catch (WsaException e) {
                boolean early = e.error() == WsaError.WSAECONNRESET || e.error() == WsaError.WSAECONNREFUSED;
                if (!early || System.nanoTime() - deadline > 0) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    private static void receiveFully(SwitchSocket s, ByteBuffer into) throws Exception {
        while (into.hasRemaining()) {
            int n = s.receive(into).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (n < 0) {
                fail("end of stream over " + s.provider() + " after " + into.position() + " bytes");
            }
        }
    }

    /** A weak reference only: the test itself must not keep the revision. */
    private static WeakReference<ClassLoader> currentLoader(Bundle b) {
        BundleWiring wiring = b.adapt(BundleWiring.class);
        assertNotNull("no wiring for " + b.getSymbolicName(), wiring);
        return new WeakReference<>(wiring.getClassLoader());
    }

    private void updateAndRefresh(Bundle b, Path jar) throws Exception {
        // Felix keeps the bundle's location: the update reads a copy, as an update from a file would.
        Path copy = Files.createTempFile("revision-", ".jar");
        try {
            Files.copy(jar, copy, StandardCopyOption.REPLACE_EXISTING);
            try (InputStream in = Files.newInputStream(copy)) {
                b.update(in);
            }
        } finally {
            Files.deleteIfExists(copy);
        }
        CountDownLatch refreshed = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(b), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                refreshed.countDown();
            }
        });
        if (!refreshed.await(WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
            fail("no PACKAGES_REFRESHED for " + b.getSymbolicName() + " within " + WAIT_MILLIS + " ms");
        }
        eventually(b.getSymbolicName() + " active again after the refresh", () -> b.getState() == Bundle.ACTIVE);
    }

    /** Full GCs until every reference cleared, bounded; the number still reachable. */
    private static int awaitCollected(List<WeakReference<ClassLoader>> refs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        for (;;) {
            System.gc();
            int alive = (int) refs.stream().filter(r -> r.get() != null).count();
            if (alive == 0 || System.nanoTime() - deadline > 0) {
                return alive;
            }
            // Soft references (JDK caches keyed by class) go only under memory pressure: a little garbage helps.
            byte[][] pressure = new byte[16][];
            for (int i = 0; i < pressure.length; i++) {
                pressure[i] = new byte[1 << 20];
            }
            Thread.sleep(200);
        }
    }

    /** Distinct files mapped into this process whose name starts with {@code prefix} (Linux; -1 elsewhere). */
    private static long mappedCopies(String prefix) {
        try (java.util.stream.Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.substring(f.lastIndexOf('/') + 1).startsWith(prefix)).distinct().count();
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void dumpHeapIfAsked() throws Exception {
        String file = System.getProperty("revisions.heapDump", "");
        if (file.isEmpty()) {
            return;
        }
        Files.deleteIfExists(Path.of(file));
        ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=HotSpotDiagnostic"),
                "dumpHeap", new Object[] {file, Boolean.TRUE}, new String[] {String.class.getName(), "boolean"});
        System.err.println("[revisions] heap dump written to " + file);
    }

    private Bundle bundle(String bsn) {
        return Bundles.bySymbolicName(context, bsn);
    }

    private <S> S awaitService(Class<S> type) throws InterruptedException {
        ServiceTracker<S, S> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            S service = tracker.waitForService(WAIT_MILLIS);
            assertNotNull("no " + type.getSimpleName(), service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
