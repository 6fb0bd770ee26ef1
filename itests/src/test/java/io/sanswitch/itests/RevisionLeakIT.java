package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static io.sanswitch.itests.RevisionCycles.WAIT_MILLIS;
import static io.sanswitch.itests.RevisionCycles.awaitCollected;
import static io.sanswitch.itests.RevisionCycles.currentLoader;
import static io.sanswitch.itests.RevisionCycles.dumpHeapIfAsked;
import static io.sanswitch.itests.RevisionCycles.mappedCopies;
import static io.sanswitch.itests.RevisionCycles.transfer;
import static io.sanswitch.itests.RevisionCycles.updateAndRefresh;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.testing.Checks;

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
                updateAndRefresh(context, bundle(bsn), Path.of(System.getProperty(jarProperty)));
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
            dumpHeapIfAsked("revisions.heapDump");
        }
        assertEquals(alive + " of " + CYCLES + " retired class loaders of " + bsn + " still reachable after "
                + WAIT_MILLIS + " ms of full GCs", 0, alive);
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
