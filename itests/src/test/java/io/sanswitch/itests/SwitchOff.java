package io.sanswitch.itests;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Disables the core's switch component for tests that drive a provider through the SPI themselves:
 * the switch would hold a startup of every provider (so the test's cleanup would not be the final
 * one), and a provider upcalls only its most recent table (docs/rules.md Q11), so the two would take each
 * other's upcalls.
 */
final class SwitchOff {
    private static final String SWITCH = "io.sanswitch.core.switcher.Switch";

    private SwitchOff() {
    }

    static void disable(BundleContext context) throws Exception {
        ServiceTracker<ServiceComponentRuntime, ServiceComponentRuntime> tracker =
                new ServiceTracker<>(context, ServiceComponentRuntime.class, null);
        tracker.open();
        try {
            ServiceComponentRuntime scr = tracker.waitForService(20_000);
            assertNotNull("no ServiceComponentRuntime", scr);
            for (Bundle b : context.getBundles()) {
                if ("io.sanswitch.core".equals(b.getSymbolicName())) {
                    ComponentDescriptionDTO d = scr.getComponentDescriptionDTO(b, SWITCH);
                    assertNotNull("no component " + SWITCH, d);
                    scr.disableComponent(d).timeout(20_000).getValue();
                    assertTrue("the switch is still enabled", !scr.isComponentEnabled(d));
                    ServiceReference<?> still = context.getServiceReference("io.sanswitch.api.SocketSwitch");
                    assertTrue("the SocketSwitch service is still registered", still == null);
                    return;
                }
            }
            throw new AssertionError("no core bundle");
        } finally {
            tracker.close();
        }
    }
}
