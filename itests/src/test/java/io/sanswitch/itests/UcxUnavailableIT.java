package io.sanswitch.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

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
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.transport.Transport;

/**
 * The rdma bundle where UCX cannot be used: the framework claims a processor JUCX's library is not
 * built for, so Bundle-NativeCode offers no library (its optional clause keeps the bundle
 * resolvable). The bundle still starts and its component activates, but it registers no
 * transport, says why in one warning, and the TCP provider is unaffected.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UcxUnavailableIT {
    private static final String COMPONENT = "io.sanswitch.rdma.UcxTransportComponent";

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"),
                frameworkProperty("org.osgi.framework.processor").value("aarch64"));
    }

    private Bundle rdmaBundle() {
        for (Bundle b : context.getBundles()) {
            if ("io.sanswitch.rdma".equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no rdma bundle");
    }

    private <S> S awaitService(Class<S> type) throws InterruptedException {
        ServiceTracker<S, S> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            S s = tracker.waitForService(10_000);
            assertNotNull("no " + type.getSimpleName(), s);
            return s;
        } finally {
            tracker.close();
        }
    }

    private int activeConfigurationsOfTheComponent() throws InterruptedException {
        ServiceComponentRuntime scr = awaitService(ServiceComponentRuntime.class);
        ComponentDescriptionDTO d = scr.getComponentDescriptionDTO(rdmaBundle(), COMPONENT);
        assertNotNull("no component " + COMPONENT, d);
        int active = 0;
        for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
            if (c.state == ComponentConfigurationDTO.ACTIVE) {
                active++;
            }
        }
        return active;
    }

    @Test
    public void theComponentActivatesRegistersNoTransportAndWarnsOnceWithTheCause() throws Exception {
        assertEquals("the tcp provider", "tcp",
                context.getServiceReference(SanServiceProvider.class).getProperty("sanswitch.transport"));
        Bundle rdma = rdmaBundle();
        rdma.stop();

        // The bundles' log lines go to the console (System.out or System.err, by logging back end).
        PrintStream err = System.err;
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(captured, true, StandardCharsets.UTF_8);
        System.setErr(capture);
        System.setOut(capture);
        try {
            rdma.start();
            assertEquals(Bundle.ACTIVE, rdma.getState());
            assertEquals("the component is active", 1, activeConfigurationsOfTheComponent());
        } finally {
            System.setErr(err);
            System.setOut(out);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        System.out.print(log);

        assertEquals("a ucx transport was registered", 0,
                context.getServiceReferences(Transport.class, "(sanswitch.transport=ucx)").size());
        assertEquals("a ucx provider was registered", 0,
                context.getServiceReferences(SanServiceProvider.class, "(sanswitch.transport=ucx)").size());
        assertEquals("only the tcp provider", 1, context.getServiceReferences(SanServiceProvider.class, null).size());
        long warnings = log.lines().filter(l -> l.contains("WARN") && l.contains("no ucx transport is registered")).count();
        assertEquals("one warning saying why: " + log, 1, warnings);
        assertTrue("the warning names the cause: " + log, log.contains("UnsatisfiedLinkError"));
    }
}
