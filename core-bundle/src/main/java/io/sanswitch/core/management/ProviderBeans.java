package io.sanswitch.core.management;

import java.util.HashMap;
import java.util.Map;

import javax.management.ObjectName;

import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.sanswitch.core.EngineDiagnostics;

/**
 * One {@link ProviderMXBean} per provider of this bundle's engines, registered while its
 * {@link EngineDiagnostics} service (the same registration as its provider service) is: a provider whose backend bundle stops loses its MBean with
 * its service, and this component's own deactivation (the core bundle stopping) removes them all.
 */
@Component(immediate = true)
public final class ProviderBeans {
    private final PlatformBeans beans = new PlatformBeans();
    // Guarded by this: a bind and the unbind of the same provider may come on different threads.
    private final Map<EngineDiagnostics, ObjectName> registered = new HashMap<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    synchronized void addProvider(EngineDiagnostics engine, Map<String, Object> properties) {
        if (registered.containsKey(engine)) {
            return;
        }
        Object id = properties.get(Constants.SERVICE_ID);
        long serviceId = id instanceof Number n ? n.longValue() : -1;
        ObjectName preferred = PlatformBeans.name("Provider", engine.transportName());
        ObjectName name = beans.register(new ProviderView(engine, serviceId), preferred,
                PlatformBeans.with(preferred, "service", Long.toString(serviceId)));
        if (name != null) {
            registered.put(engine, name);
        }
    }

    synchronized void removeProvider(EngineDiagnostics engine) {
        beans.unregister(registered.remove(engine));
    }

    @Deactivate
    synchronized void deactivate() {
        registered.values().forEach(beans::unregister);
        registered.clear();
    }
}
