package io.sanswitch.rdma;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.transport.Transport;

/**
 * Registers the UCX {@link Transport} service, configured through PID {@code io.sanswitch.rdma}.
 *
 * <p>It registers the service itself rather than letting Declarative Services do it, for two
 * reasons: where UCX cannot be used, no transport is registered at all (one warning says why),
 * so the switch never sees a provider whose every startup fails; and a change of the SAN subnets
 * only updates the service's properties, while a change of the transports or the progress policy
 * replaces the transport (the core then runs the final cleanup of the provider over the old one,
 * as for a bundle stop: UCX cannot change them under a running context).
 */
@Component(immediate = true, configurationPid = UcxTransportComponent.PID)
@Designate(ocd = UcxTransportComponent.Config.class)
public final class UcxTransportComponent {
    public static final String PID = "io.sanswitch.rdma";
    /** Service property naming the backend, as the TCP backend's. */
    public static final String TRANSPORT_PROPERTY = "sanswitch.transport";
    /** Service property: the configured SAN subnets, canonical CIDR strings (String[]). */
    public static final String SAN_SUBNETS_PROPERTY = "sanswitch.san.subnets";

    @ObjectClassDefinition(name = "sanswitch RDMA provider (UCX)",
            description = "The RDMA backend on UCX; registered only where UCX can be used.")
    public @interface Config {
        @AttributeDefinition(name = "UCX transports", description = "The transports UCX may use, as UCX_TLS takes"
                + " them (for example 'rc,sm,self' or 'tcp'); empty lets UCX choose.")
        String transports() default "";

        @AttributeDefinition(name = "Progress policy",
                description = "What the UCX progress thread does while the worker is idle.",
                options = {
                    @Option(value = "BUSY_POLL", label = "Busy poll: lowest latency, one core always busy"),
                    @Option(value = "WAKEUP", label = "Wakeup: sleep until traffic, no CPU while idle"),
                    @Option(value = "SPIN_THEN_WAKEUP", label = "Spin a while after traffic, then sleep")
                })
        String progressPolicy() default "SPIN_THEN_WAKEUP";

        @AttributeDefinition(name = "SAN subnets", description = "Subnets in CIDR notation (for example"
                + " 192.168.10.0/24) whose peers the switch reaches over RDMA. Published as the service"
                + " property " + SAN_SUBNETS_PROPERTY + " in canonical form; entries that are not CIDRs are"
                + " logged and left out.")
        String[] sanSubnets() default {};
    }

    private static final Logger LOG = LoggerFactory.getLogger(UcxTransportComponent.class);

    /** What the transport is built from, and what only its service properties carry. */
    record Settings(ProgressPolicy policy, String transports, List<String> sanSubnets) {

        /** Reads {@code config}, logging and replacing or leaving out what is not valid. */
        static Settings of(Config config) {
            return new Settings(policy(config.progressPolicy()),
                    config.transports() == null ? "" : config.transports().strip(),
                    subnets(config.sanSubnets()));
        }

        private static ProgressPolicy policy(String name) {
            if (name == null) {
                return ProgressPolicy.SPIN_THEN_WAKEUP;
            }
            String wanted = name.strip().toUpperCase(Locale.ROOT);
            for (ProgressPolicy p : ProgressPolicy.values()) {
                if (p.name().equals(wanted)) {
                    return p;
                }
            }
            LOG.warn("{}: progressPolicy '{}' is none of {}; using {}", PID, name,
                    Arrays.toString(ProgressPolicy.values()), ProgressPolicy.SPIN_THEN_WAKEUP);
            return ProgressPolicy.SPIN_THEN_WAKEUP;
        }

        private static List<String> subnets(String[] configured) {
            List<String> valid = new ArrayList<>();
            if (configured == null) {
                return valid;
            }
            for (String entry : configured) {
                // A .cfg file may carry the list as one comma-separated string.
                for (String cidr : entry == null ? new String[0] : entry.split("[,\\s]+")) {
                    if (cidr.isEmpty()) {
                        continue;
                    }
                    try {
                        String canonical = SanSubnet.parse(cidr).toString();
                        if (!valid.contains(canonical)) {
                            valid.add(canonical);
                        }
                    } catch (IllegalArgumentException e) {
                        LOG.warn("{}: SAN subnet left out: {}", PID, e.getMessage());
                    }
                }
            }
            return valid;
        }

        boolean sameTransportAs(Settings other) {
            return other != null && policy == other.policy && transports.equals(other.transports);
        }

        Hashtable<String, Object> serviceProperties() {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(TRANSPORT_PROPERTY, "ucx");
            props.put(SAN_SUBNETS_PROPERTY, sanSubnets.toArray(new String[0]));
            return props;
        }
    }

    private final BundleContext context;
    private final Object lock = new Object();
    private Settings settings;
    private ServiceRegistration<Transport> registration;
    private boolean deactivated;

    @Activate
    public UcxTransportComponent(BundleContext context, Config config) {
        this.context = context;
        if (!"".equals(System.getenv("UCX_ERROR_SIGNALS"))) {
            LOG.warn("UCX_ERROR_SIGNALS is not set to an empty value for this JVM: UCX's error-signal handlers"
                    + " can take the JVM's own signals and end the process (openucx/ucx#3337)");
        }
        if (!Ucx.isAvailable()) {
            LOG.warn("UCX cannot be used in this JVM, so no ucx transport is registered (the bundle's JUCX"
                    + " needs Linux x86-64 and libucx, Debian's libucx0; this is {} {}): {}",
                    System.getProperty("os.name"), System.getProperty("os.arch"), Ucx.unavailabilityCause().toString());
            LOG.debug("why UCX cannot be used", Ucx.unavailabilityCause());
            return;
        }
        Settings initial = Settings.of(config);
        ServiceRegistration<Transport> reg = register(initial);
        synchronized (lock) {
            settings = initial;
            registration = reg;
        }
    }

    /**
     * Applies a new configuration: subnets in place, anything else by replacing the transport.
     * The replaced provider's final cleanup runs on this thread, with no lock held.
     */
    @Modified
    void modified(Config config) {
        if (!Ucx.isAvailable()) {
            return;
        }
        Settings next = Settings.of(config);
        ServiceRegistration<Transport> current;
        boolean inPlace;
        synchronized (lock) {
            current = registration;
            if (current == null) {
                return;
            }
            inPlace = next.sameTransportAs(settings);
            settings = next;
            if (!inPlace) {
                registration = null;
            }
        }
        if (inPlace) {
            try {
                current.setProperties(next.serviceProperties());
                LOG.info("ucx transport: SAN subnets now {}", next.sanSubnets());
            } catch (IllegalStateException gone) {
                // unregistered by a deactivation that overtook this update
            }
            return;
        }
        unregister(current);
        ServiceRegistration<Transport> replacement = register(next);
        boolean late;
        synchronized (lock) {
            late = deactivated;
            if (!late) {
                registration = replacement;
            }
        }
        if (late) {
            // SCR serialises modified and deactivate; this only guards against leaking if not.
            unregister(replacement);
        }
    }

    /** Bundle stop: the core runs the provider's final cleanup during this unregistration. */
    @Deactivate
    void deactivate() {
        ServiceRegistration<Transport> old;
        synchronized (lock) {
            deactivated = true;
            old = registration;
            registration = null;
        }
        if (old != null) {
            unregister(old);
        }
    }

    private ServiceRegistration<Transport> register(Settings s) {
        ServiceRegistration<Transport> reg = context.registerService(Transport.class,
                new UcxTransport(s.policy(), s.transports()), s.serviceProperties());
        LOG.info("ucx transport registered: transports '{}', progress policy {}, SAN subnets {}",
                s.transports(), s.policy(), s.sanSubnets());
        return reg;
    }

    private static void unregister(ServiceRegistration<Transport> reg) {
        try {
            reg.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the framework unregistered it with the bundle
        }
    }
}
