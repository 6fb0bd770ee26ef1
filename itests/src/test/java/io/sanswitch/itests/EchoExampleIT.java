package io.sanswitch.itests;

import static io.sanswitch.itests.Eventually.eventually;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.bundle;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.junit.After;
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

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.example.EchoExample;
import io.sanswitch.example.EchoExample.Echoed;
import io.sanswitch.spi.WsaException;

/**
 * The README's example for application developers (example-bundle's {@link EchoExample}) run as an
 * application bundle in Felix over the api, core, tcp and rdma bundles: started, its outcome says
 * both echoes went through (streams and asynchronous calls) and both ends closed; the switch then
 * holds none of its connections, and after the bundle stops none of its listeners, provider sockets or its own thread.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EchoExampleIT {
    private static final String EXAMPLE_BSN = "io.sanswitch.example";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"),
                bundle("reference:file:" + System.getProperty("sanswitch.bundle.example")).noStart());
    }

    @After
    public void stopExample() throws Exception {
        exampleBundle().stop();
    }

    @Test
    public void echoesOverTcpOffTheSan() throws Exception {
        loopbackIsOnSan(false);
        assertEquals(new Echoed("tcp", "hello over the streams", "hello over the stages"), runExample());
    }

    @Test
    public void echoesOverUcxOnTheSan() throws Exception {
        loopbackIsOnSan(true);
        assertEquals(new Echoed("ucx", "hello over the streams", "hello over the stages"), runExample());
    }

    /** Starts the example bundle, waits for its outcome, stops it and checks what it left behind. */
    private Echoed runExample() throws Exception {
        SocketSwitch sw = awaitService(SocketSwitch.class);
        // docs/rules.md SW-close-off-io: the sockets of the probes before (loopbackIsOnSan) close on the
        // switch's close threads, maybe still now: counted from where only the switch's own are open.
        eventually("no provider socket open but the switch's own", () -> {
            SwitchStatistics s = sw.statistics();
            return s.totalProviderSockets() == s.switchSockets().values().stream().mapToInt(Integer::intValue).sum();
        });
        SwitchStatistics before = sw.statistics();
        exampleBundle().start();
        Echoed echoed;
        try {
            echoed = awaitService(EchoExample.class).outcome().toCompletableFuture()
                    .get(Eventually.WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("the example failed: " + e.getCause(), e.getCause());
        }
        // The outcome completes once the server end read the end of the stream, i.e. the client's graceful
        // close arrived; the switch finishes a close on its own threads, so the count drops soon after.
        eventually("the switch's connections back to " + before.connections() + " after the example closed both ends",
                () -> sw.statistics().connections() == before.connections());
        exampleBundle().stop();
        eventually("the switch's listeners back to " + before.listeners() + " after the example stopped",
                () -> sw.statistics().listeners() == before.listeners());
        eventually("the providers closed the example's sockets",
                () -> sw.statistics().totalProviderSockets() == before.totalProviderSockets());
        // @Deactivate joins the example's own thread (the switch's pool threads are not the example's).
        List<String> left = ThreadLeaks.live().stream().map(Thread::getName)
                .filter("echo-example"::equals).collect(Collectors.toList());
        assertEquals("the example's threads after it stopped", List.of(), left);
        return echoed;
    }

    /** Sets the switch's SAN subnets and waits until a loopback listener shows them in force. */
    private void loopbackIsOnSan(boolean onSan) throws Exception {
        SocketSwitch sw = awaitService(SocketSwitch.class);
        eventually("the switch runs both providers", () -> sw.providers().containsAll(List.of("tcp", "ucx")));
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("sanSubnets", new String[] {onSan ? "127.0.0.0/8" : "10.99.0.0/16"});
        context.getService(ref).getConfiguration("io.sanswitch.switch", "?").update(props);
        context.ungetService(ref);
        // A switch listener on loopback listens over ucx only for a SAN address (docs/rules.md SW-subnet).
        eventually("loopback on the SAN: " + onSan, () -> {
            try (SwitchServerSocket probe = sw.listen(new InetSocketAddress(LOOPBACK, 0), 1)) {
                return probe.providers().contains("ucx") == onSan;
            } catch (WsaException e) {
                return false;
            }
        });
    }

    private Bundle exampleBundle() {
        for (Bundle b : context.getBundles()) {
            if (EXAMPLE_BSN.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("no bundle " + EXAMPLE_BSN);
        return null;
    }

    private <S> S awaitService(Class<S> type) throws Exception {
        ServiceTracker<S, S> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            S service = tracker.waitForService(Eventually.WAIT_MILLIS);
            assertNotNull("no " + type.getSimpleName(), service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
