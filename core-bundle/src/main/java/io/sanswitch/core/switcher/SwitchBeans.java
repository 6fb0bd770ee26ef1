package io.sanswitch.core.switcher;

import java.util.Map;

import javax.management.ObjectName;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.core.management.PlatformBeans;

/**
 * The switch's {@link SwitchMXBean}, registered while the switch component is active: this
 * component needs the switch's service, so SCR deactivates it (and the MBean goes) when the switch
 * goes, and activates it again with the next switch.
 */
@Component(immediate = true)
public final class SwitchBeans {
    private final PlatformBeans beans = new PlatformBeans();
    private final ObjectName name;

    @Activate
    public SwitchBeans(@Reference(name = "socketSwitch") SocketSwitch socketSwitch, Map<String, Object> properties) {
        ObjectName registered = null;
        if (socketSwitch instanceof Switch sw) {
            ObjectName preferred = PlatformBeans.name("Switch", null);
            registered = beans.register(new SwitchMBeanView(sw), preferred,
                    PlatformBeans.with(preferred, "component", String.valueOf(properties.get("component.id"))));
        }
        name = registered;
    }

    @Deactivate
    void deactivate() {
        beans.unregister(name);
    }
}
