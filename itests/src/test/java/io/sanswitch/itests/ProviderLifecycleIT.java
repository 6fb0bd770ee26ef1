package io.sanswitch.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.sanswitch.testing.Checks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;
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
import org.osgi.framework.FrameworkUtil;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * docs/architecture.md, lifecycle's OSGi mapping in a real Apache Felix with SCR: the TCP backend bundle's start makes a
 * {@code SanServiceProvider} appear; its stop runs the final cleanup (pending operations aborted
 * once, references stale, no backend thread left); its restart makes a new provider usable at once.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ProviderLifecycleIT {
    private static final String TCP_BSN = "io.sanswitch.tcp";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Inject
    private BundleContext context;

    /** This class drives providers through the SPI itself: the switch must not hold them too. */
    @org.junit.Before
    public void withoutTheSwitch() throws Exception {
        SwitchOff.disable(context);
    }

    @Configuration
    public Option[] config() {
        return FelixOptions.with();
    }

    private SanServiceProvider awaitProvider() throws InterruptedException {
        ServiceTracker<SanServiceProvider, SanServiceProvider> tracker = new ServiceTracker<>(context,
                SanServiceProvider.class, null);
        tracker.open();
        try {
            SanServiceProvider p = tracker.waitForService(10_000);
            assertNotNull("no SanServiceProvider registered", p);
            return p;
        } finally {
            tracker.close();
        }
    }

    private Bundle tcpBundle() {
        for (Bundle b : context.getBundles()) {
            if (TCP_BSN.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("no bundle " + TCP_BSN);
        return null;
    }

    private static long backendThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("sanswitch-tcp-")).count();
    }

    /** A connected pair on one provider with a receive pending on the accepted side. */
    private Overlapped connectAndPostReceive(SanServiceProvider p, CountingSwitch sw) throws Exception {
        InetSocketAddress at = new InetSocketAddress(LOOPBACK, FreePorts.free(LOOPBACK));
        SocketHandle listener = p.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        p.bind(listener, at);
        p.listen(listener, 8);
        SocketHandle client = p.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        p.connect(client, at, null);
        AcceptedSocket accepted = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (accepted == null) {
            try {
                accepted = p.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
            } catch (WsaException e) {
                assertEquals(WsaError.WSAEWOULDBLOCK, e.error());
                assertTrue("no connection request", System.nanoTime() < deadline);
                Thread.sleep(5);
            }
        }
        MemoryHandle m = p.registerMemory(accepted.socket(), ByteBuffer.allocateDirect(64), Winsock.MEM_WRITE);
        Overlapped ov = Overlapped.notifying(null);
        p.recv(accepted.socket(), new WsaBuf[] {WsaBuf.of(m)}, ov);
        return ov;
    }

    @Test
    @Checks({"LC-bundle-stop", "LC-b", "LC-d", "LC-unmatched"})
    public void stoppingTheBackendBundleRunsTheFinalCleanupAndStartingItMakesANewProviderUsable() throws Exception {
        assertEquals(Bundle.ACTIVE, FrameworkUtil.getBundle(SanServiceProvider.class).getState());
        SanServiceProvider first = awaitProvider();
        CountingSwitch sw = new CountingSwitch();
        first.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, sw);
        first.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, sw); // a second holder
        Overlapped pending = connectAndPostReceive(first, sw);
        assertTrue("the backend runs its selector threads", backendThreads() > 0);

        long start = System.nanoTime();
        tcpBundle().stop();
        long stopMillis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("backend bundle stop, including the final cleanup: " + stopMillis + " ms");

        OverlappedResult r = pending.awaitResult(10, TimeUnit.SECONDS);
        assertNotNull("the pending receive was never completed", r);
        assertEquals(WsaError.WSA_OPERATION_ABORTED, r.error());
        assertEquals(1, sw.completionsOf(pending));
        try {
            first.cleanup();
            fail("a reference of the stopped provider still worked");
        } catch (WsaException e) {
            assertEquals(WsaError.WSANOTINITIALISED, e.error());
        }
        assertNull("the provider is still registered", context.getServiceReference(SanServiceProvider.class));
        assertEquals("backend threads left after the bundle stop", 0, backendThreads());

        tcpBundle().start();
        SanServiceProvider second = awaitProvider();
        assertNotSame(first, second);
        second.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, sw);
        Overlapped again = connectAndPostReceive(second, sw);
        second.cleanup();
        assertEquals(WsaError.WSA_OPERATION_ABORTED, again.awaitResult(10, TimeUnit.SECONDS).error());
    }

    @Test
    @Checks({"LC-bundle-stop", "LC-d", "LC-f"})
    public void twentyStopStartCyclesLeaveNoThreadOrProviderBehind() throws Exception {
        // The first cycle is a warm-up: the framework may start threads of its own lazily. After it,
        // every cycle must end with exactly the threads that were there before it.
        Set<Thread> baseline = null;
        for (int cycle = 0; cycle < 20; cycle++) {
            SanServiceProvider p = awaitProvider();
            CountingSwitch sw = new CountingSwitch();
            p.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, sw);
            Overlapped pending = connectAndPostReceive(p, sw);
            tcpBundle().stop();
            assertEquals(WsaError.WSA_OPERATION_ABORTED, pending.awaitResult(10, TimeUnit.SECONDS).error());
            assertEquals(0, backendThreads());
            tcpBundle().start();
            awaitProvider();
            if (baseline == null) {
                baseline = ThreadLeaks.live();
            }
        }
        ThreadLeaks.assertNoneBeyond(baseline, "threads left by 19 stop/start cycles");
    }
}
