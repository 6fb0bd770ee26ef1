package io.sanswitch.core;

import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportProperties;

/**
 * The OSGi side of docs/architecture.md, lifecycle: every {@link Transport} service a backend bundle registers is
 * wrapped in a {@link ProviderEngine} and registered as a {@link SanServiceProvider} (bundle start
 * = startup becomes possible). When the backend's service goes away, the engine's final cleanup
 * runs whatever the reference count, while the backend is still alive (bundle stop = final
 * cleanup), and holders of references get {@code WSANOTINITIALISED}.
 *
 * <p>The unbind runs on the thread that stops the backend bundle, during its synchronous
 * unregistration (docs/toolchain.md TC-13): nothing here holds a lock while it calls the framework or runs
 * the cleanup, and the cleanup waits only for work of other threads, bounded.
 */
@Component(immediate = true)
public final class ProviderRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderRegistry.class);

    private record Entry(ProviderEngine engine, ServiceRegistration<?> registration) {
    }

    private final Map<Transport, Entry> providers = new ConcurrentHashMap<>();
    private final BundleContext context;

    /** Constructor injection: SCR may bind transports before an activate method would run. */
    @Activate
    public ProviderRegistry(BundleContext context) {
        this.context = context;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            updated = "updatedTransport")
    void addTransport(Transport transport, Map<String, Object> properties) {
        ProviderEngine engine = new ProviderEngine(transport);
        // One registration, two views: the SPI for the switch, EngineDiagnostics for the shell and MBeans.
        ServiceRegistration<?> reg = context.registerService(
                new String[] {SanServiceProvider.class.getName(), EngineDiagnostics.class.getName()}, engine,
                providerProperties(transport, properties));
        Entry previous = providers.put(transport, new Entry(engine, reg));
        if (previous != null) {
            retire(transport, previous);
        }
        LOG.info("provider over {} registered", transport.name());
    }

    /** A backend changed what it publishes (its SAN subnets): the provider follows, still running. */
    void updatedTransport(Transport transport, Map<String, Object> properties) {
        Entry e = providers.get(transport);
        if (e == null) {
            return;
        }
        try {
            e.registration().setProperties(providerProperties(transport, properties));
        } catch (IllegalStateException alreadyGone) {
            // retired meanwhile
        }
    }

    /** The provider's service properties: its backend's name and what the switch routes by. */
    private static Hashtable<String, Object> providerProperties(Transport transport, Map<String, Object> backend) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(TransportProperties.TRANSPORT, transport.name());
        Object subnets = backend == null ? null : backend.get(TransportProperties.SAN_SUBNETS);
        if (subnets != null) {
            props.put(TransportProperties.SAN_SUBNETS, subnets);
        }
        return props;
    }

    void removeTransport(Transport transport) {
        Entry e = providers.remove(transport);
        if (e != null) {
            retire(transport, e);
        }
    }

    /** Unregisters the provider first (no new users), then runs its final cleanup. */
    private void retire(Transport transport, Entry e) {
        // Unregistering makes the switch release its startup: that cleanup is then the final one,
        // and it ran because the backend leaves.
        e.engine().markLeaving();
        try {
            e.registration().unregister();
        } catch (IllegalStateException alreadyGone) {
            // unregistered with the bundle already
        }
        try {
            boolean ran = e.engine().finalCleanup(CleanupReason.TRANSPORT_LEAVING);
            LOG.info("provider over {} retired{}", transport.name(), ran ? " after its final cleanup" : "");
        } catch (WsaException ex) {
            LOG.warn("final cleanup of the provider over {} reported {}", transport.name(), ex.error());
        }
    }

    @Deactivate
    void deactivate() {
        for (Transport t : providers.keySet()) {
            removeTransport(t);
        }
    }

    /** The engine registered for {@code transport}, for diagnostics. */
    ProviderEngine engineFor(Transport transport) {
        Entry e = providers.get(transport);
        return e == null ? null : e.engine();
    }
}
