package io.sanswitch.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static io.sanswitch.itests.Eventually.eventually;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.TimeUnit;

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

import io.sanswitch.api.SocketSwitch;

/**
 * Bad configuration in Felix with SCR and ConfigAdmin (found in Karaf): {@code rdmaPortOffset=abc}
 * for PID io.sanswitch.switch threw out of the switch's modified, and after a restart of its bundle
 * the switch did not activate at all. Now the switch and the tcp backend run with their defaults.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BadConfigurationIT {
    private static final long WAIT_MILLIS = 20_000;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with();
    }

    @After
    public void forget() throws Exception {
        ConfigurationAdmin cm = configAdmin();
        for (String pid : new String[] {"io.sanswitch.switch", "io.sanswitch.tcp"}) {
            cm.getConfiguration(pid, "?").delete();
        }
    }

    @Test
    public void aSwitchConfiguredWithANonNumericPortOffsetStillActivatesAfterABundleRestart() throws Exception {
        assertTrue(activeSwitch().providers().contains("tcp"));
        configure("io.sanswitch.switch", "rdmaPortOffset", "abc");
        // DS copies the configuration into the service's properties once modified ran.
        eventually("the switch was given rdmaPortOffset=abc", () -> "abc".equals(switchProperty("rdmaPortOffset")));
        assertTrue("the switch runs on after modified", activeSwitch().providers().contains("tcp"));

        Bundle core = bundle("io.sanswitch.core");
        core.stop();
        core.start();
        eventually("the restarted switch has rdmaPortOffset=abc", () -> "abc".equals(switchProperty("rdmaPortOffset")));
        SocketSwitch sw = activeSwitch();
        eventually("the restarted switch runs the tcp provider", () -> sw.providers().contains("tcp"));
    }

    @Test
    public void aTcpBackendConfiguredWithNoThreadsStillRegistersItsProvider() throws Exception {
        configure("io.sanswitch.tcp", "threads", "0");
        Bundle tcp = bundle("io.sanswitch.tcp");
        tcp.stop();
        tcp.start();
        eventually("the tcp transport was activated with threads=0", () -> {
            ServiceReference<?> ref = context.getServiceReference("io.sanswitch.transport.Transport");
            return ref != null && "0".equals(ref.getProperty("threads")) && context.getService(ref) != null;
        });
        SocketSwitch sw = activeSwitch();
        eventually("the switch runs the tcp provider again", () -> sw.providers().contains("tcp"));
    }

    private void configure(String pid, String property, String value) throws Exception {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(property, value);
        configAdmin().getConfiguration(pid, "?").update(props);
    }

    private ConfigurationAdmin configAdmin() {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        return context.getService(ref);
    }

    private Object switchProperty(String name) {
        ServiceReference<SocketSwitch> ref = context.getServiceReference(SocketSwitch.class);
        return ref == null ? null : ref.getProperty(name);
    }

    /** The switch service, activated: SCR hands out null where the activation failed. */
    private SocketSwitch activeSwitch() throws InterruptedException {
        SocketSwitch[] found = new SocketSwitch[1];
        eventually("an activated SocketSwitch", () -> {
            ServiceReference<SocketSwitch> ref = context.getServiceReference(SocketSwitch.class);
            found[0] = ref == null ? null : context.getService(ref);
            return found[0] != null;
        });
        return found[0];
    }

    /** The bundle of that symbolic name, which must be active. */
    private Bundle bundle(String symbolicName) {
        Bundle b = Bundles.bySymbolicName(context, symbolicName);
        assertEquals(Bundle.ACTIVE, b.getState());
        return b;
    }
}
