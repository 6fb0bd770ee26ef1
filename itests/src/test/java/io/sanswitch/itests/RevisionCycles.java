package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.management.ObjectName;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The steps of a backend bundle's update cycle (RevisionLeakIT, LifecycleLeakIT): a checked
 * transfer through the switch, the update and refresh, and waiting for retired class loaders.
 */
final class RevisionCycles {
    static final long WAIT_MILLIS = 60_000;

    private RevisionCycles() {
    }

    /**
     * One connection over {@code provider} through the switch, accepted by {@code listener}: a chunk
     * above the UCX provider's RDMA threshold (64 KiB) one way and back, then closed.
     */
    static void transfer(SocketSwitch sw, SwitchServerSocket listener, String provider) throws Exception {
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        try (SwitchSocket client = connectOnceJoined(sw, listener, provider);
                SwitchSocket server = accepted.get(WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
            assertEquals(provider, client.provider());
            roundTrip(client, server, provider.hashCode());
        }
    }

    /** 70,000 bytes (above the UCX provider's RDMA threshold, 64 KiB) from client to server and back, checked. */
    static void roundTrip(SwitchSocket client, SwitchSocket server, int seed) throws Exception {
        byte[] data = new byte[70_000];
        new Random(seed).nextBytes(data);
        client.send(ByteBuffer.wrap(data)).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        ByteBuffer got = ByteBuffer.allocate(data.length);
        receiveFully(server, got);
        server.send(got.flip()).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        ByteBuffer back = ByteBuffer.allocate(data.length);
        receiveFully(client, back);
        assertArrayEquals("echo over " + client.provider(), data, back.array());
    }

    /**
     * A connect right after a swap may still meet the listener's socket on the retired provider (the
     * switch drops it and joins the new provider on its own threads; both carry the same name): a
     * refused or reset connect is tried again, bounded. These tests are about what the swap leaves
     * behind; SwitchHotSwapIT checks the connections across a swap.
     */
    static SwitchSocket connectOnceJoined(SocketSwitch sw, SwitchServerSocket listener, String provider)
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

    static void receiveFully(SwitchSocket s, ByteBuffer into) throws Exception {
        while (into.hasRemaining()) {
            int n = s.receive(into).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (n < 0) {
                fail("end of stream over " + s.provider() + " after " + into.position() + " bytes");
            }
        }
    }

    /** A weak reference only: the test itself must not keep the revision. */
    static WeakReference<ClassLoader> currentLoader(Bundle b) {
        BundleWiring wiring = b.adapt(BundleWiring.class);
        assertNotNull("no wiring for " + b.getSymbolicName(), wiring);
        return new WeakReference<>(wiring.getClassLoader());
    }

    static void updateAndRefresh(BundleContext context, Bundle b, Path jar) throws Exception {
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
    static int awaitCollected(List<WeakReference<ClassLoader>> refs) throws InterruptedException {
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
    static long mappedCopies(String prefix) {
        try (java.util.stream.Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.substring(f.lastIndexOf('/') + 1).startsWith(prefix)).distinct().count();
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    static void dumpHeapIfAsked(String property) throws Exception {
        String file = System.getProperty(property, "");
        if (file.isEmpty()) {
            return;
        }
        Files.deleteIfExists(Path.of(file));
        ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=HotSpotDiagnostic"),
                "dumpHeap", new Object[] {file, Boolean.TRUE}, new String[] {String.class.getName(), "boolean"});
        System.err.println("heap dump written to " + file);
    }
}
