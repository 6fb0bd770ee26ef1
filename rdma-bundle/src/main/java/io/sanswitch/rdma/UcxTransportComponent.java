package io.sanswitch.rdma;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.config.ConfigReader;
import io.sanswitch.transport.Cidr;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportProperties;

/**
 * Registers the UCX {@link Transport} service, configured through PID {@code io.sanswitch.rdma}.
 *
 * <p>It registers the service itself rather than letting Declarative Services do it, for two
 * reasons: where UCX cannot be used, no transport is registered at all (one warning says why),
 * so the switch never sees a provider whose every startup fails; and a change of the SAN subnets
 * only updates the service's properties, while a change of the transports, the progress policy or
 * the rendezvous' key or handshake timeout replaces the transport (the core then runs the final cleanup of the provider over the old one,
 * as for a bundle stop: UCX cannot change them under a running context).
 */
@Component(immediate = true, configurationPid = UcxTransportComponent.PID)
@Designate(ocd = UcxTransportComponent.Config.class)
public final class UcxTransportComponent {
    public static final String PID = "io.sanswitch.rdma";

    // Defaults and bounds of PID io.sanswitch.rdma; the Metatype below shows the same.
    static final int MAX_SUBNETS = 256;
    static final int MAX_TRANSPORTS_LENGTH = 256;
    static final int MIN_SHARED_KEY_LENGTH = 16;
    static final int MAX_KEY_FILE_LENGTH = 4096;
    static final int HANDSHAKE_TIMEOUT_MILLIS = 5000;
    static final int MIN_HANDSHAKE_TIMEOUT_MILLIS = 100;
    static final int MAX_HANDSHAKE_TIMEOUT_MILLIS = 600_000;

    /**
     * The Metatype of PID {@code io.sanswitch.rdma}. The component reads the raw properties itself
     * ({@link Settings#read}): an annotation proxy would throw for a bad value.
     */
    @ObjectClassDefinition(name = "sanswitch RDMA provider (UCX)",
            description = "The RDMA backend on UCX; registered only where UCX can be used. A bad value is logged"
                    + " and the last good one (at start: the default) is used.")
    public @interface Config {
        @AttributeDefinition(name = "UCX transports", description = "The transports UCX may use, as UCX_TLS takes"
                + " them (for example 'rc,sm,self' or 'tcp'; letters, digits and _ , : ^ - only, at most "
                + MAX_TRANSPORTS_LENGTH + " characters); empty lets UCX choose.")
        String transports() default "";

        @AttributeDefinition(name = "Progress policy",
                description = "What the UCX progress thread does while the worker is idle.",
                options = {
                    @Option(value = "BUSY_POLL", label = "Busy poll: lowest latency, one core always busy"),
                    @Option(value = "WAKEUP", label = "Wakeup: sleep until traffic, no CPU while idle"),
                    @Option(value = "SPIN_THEN_WAKEUP", label = "Spin a while (milliseconds) after traffic, then sleep"),
                    @Option(value = "SPIN_BRIEFLY_THEN_WAKEUP", label = "Spin briefly (250 microseconds) after traffic,"
                            + " then sleep: the default; a busy machine's other threads get the core, and the"
                            + " progress thread is woken at once by the next traffic")
                })
        String progressPolicy() default "SPIN_BRIEFLY_THEN_WAKEUP";

        @AttributeDefinition(name = "SAN subnets", description = "Subnets in CIDR notation (IPv4 dotted quad or"
                + " IPv6 literal and prefix length, for example 192.168.10.0/24), at most " + MAX_SUBNETS + ", whose"
                + " peers the switch reaches over RDMA. Published as the service property "
                + TransportProperties.SAN_SUBNETS + " in canonical form; entries that are not CIDRs are logged and"
                + " left out.")
        String[] sanSubnets() default {};

        @AttributeDefinition(name = "Shared key", type = AttributeType.PASSWORD, description = "The rendezvous'"
                + " shared secret, at least " + MIN_SHARED_KEY_LENGTH + " characters (surrounding white space"
                + " ignored); empty takes the key from the key file. Never logged.")
        String sharedKey() default "";

        @AttributeDefinition(name = "Key file", description = "The file holding the rendezvous' shared secret when"
                + " no shared key is set; empty means ${user.home}/.sanswitch/rdma.key.")
        String keyFile() default "";

        @AttributeDefinition(name = "Handshake timeout (ms)", description = "How long, in milliseconds ("
                + MIN_HANDSHAKE_TIMEOUT_MILLIS + " to " + MAX_HANDSHAKE_TIMEOUT_MILLIS + "), the rendezvous'"
                + " handshake may take.", min = "" + MIN_HANDSHAKE_TIMEOUT_MILLIS,
                max = "" + MAX_HANDSHAKE_TIMEOUT_MILLIS)
        int handshakeTimeoutMillis() default HANDSHAKE_TIMEOUT_MILLIS;
    }

    private static final Logger LOG = LoggerFactory.getLogger(UcxTransportComponent.class);

    /**
     * What the transport is built from, and what only its service properties carry.
     *
     * @param sharedKey the rendezvous' shared secret, stripped; empty: read it from {@link #keyPath()}
     * @param keyFile the configured key file; empty: the default, see {@link #keyPath()}
     */
    record Settings(ProgressPolicy policy, String transports, List<String> sanSubnets, String sharedKey,
            String keyFile, int handshakeTimeoutMillis) {

        static final Settings DEFAULTS = new Settings(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, "", List.of(), "", "",
                HANDSHAKE_TIMEOUT_MILLIS);

        Settings {
            sanSubnets = List.copyOf(sanSubnets);
        }

        /**
         * Reads the properties of PID {@value UcxTransportComponent#PID}. Absent properties take
         * their defaults; a bad value is one line for {@code complaints} and {@code lastGood}'s
         * value stays (the defaults at activation); a SAN subnet that is no CIDR is left out.
         * Never throws.
         */
        static Settings read(Map<String, ?> properties, Settings lastGood, Consumer<String> complaints) {
            ConfigReader r = new ConfigReader(PID, properties, complaints);
            List<String> subnets = new ArrayList<>();
            for (Cidr c : Cidr.parseAll(r.list("sanSubnets", MAX_SUBNETS), why -> r.leaveOut("sanSubnets", why))) {
                subnets.add(c.toString());
            }
            return new Settings(
                    r.choice("progressPolicy", ProgressPolicy.class, DEFAULTS.policy, lastGood.policy),
                    r.text("transports", Settings::isUcxTls, "UCX_TLS: letters, digits and _ , : ^ - only, at most "
                            + MAX_TRANSPORTS_LENGTH + " characters; empty lets UCX choose", DEFAULTS.transports,
                            lastGood.transports),
                    subnets,
                    r.secret("sharedKey", MIN_SHARED_KEY_LENGTH, DEFAULTS.sharedKey, lastGood.sharedKey),
                    r.text("keyFile", Settings::isPath, "a file path of at most " + MAX_KEY_FILE_LENGTH
                            + " characters; empty for ${user.home}/.sanswitch/rdma.key", DEFAULTS.keyFile,
                            lastGood.keyFile),
                    r.integer("handshakeTimeoutMillis", MIN_HANDSHAKE_TIMEOUT_MILLIS, MAX_HANDSHAKE_TIMEOUT_MILLIS,
                            DEFAULTS.handshakeTimeoutMillis, lastGood.handshakeTimeoutMillis));
        }

        private static boolean isUcxTls(String s) {
            return s.length() <= MAX_TRANSPORTS_LENGTH && s.matches("[A-Za-z0-9_,:^-]*");
        }

        private static boolean isPath(String s) {
            if (s.length() > MAX_KEY_FILE_LENGTH) {
                return false;
            }
            try {
                Path.of(s);
                return true;
            } catch (InvalidPathException e) {
                return false;
            }
        }

        /** The file to read the shared key from when {@link #sharedKey()} is empty. */
        Path keyPath() {
            return keyFile.isEmpty() ? RendezvousKey.defaultFile() : Path.of(keyFile);
        }

        /** Whether a transport built from {@code other} is this one's: else it must be replaced. */
        boolean sameTransportAs(Settings other) {
            return other != null && policy == other.policy && transports.equals(other.transports)
                    && sharedKey.equals(other.sharedKey) && keyFile.equals(other.keyFile)
                    && handshakeTimeoutMillis == other.handshakeTimeoutMillis;
        }

        Hashtable<String, Object> serviceProperties() {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(TransportProperties.TRANSPORT, UcxTransport.NAME);
            props.put(TransportProperties.SAN_SUBNETS, sanSubnets.toArray(new String[0]));
            return props;
        }

        /** Without the shared key: settings are logged. */
        @Override
        public String toString() {
            return "Settings[policy=" + policy + ", transports=" + transports + ", sanSubnets=" + sanSubnets
                    + ", sharedKey=" + (sharedKey.isEmpty() ? "(none)" : "(hidden)") + ", keyFile=" + keyFile
                    + ", handshakeTimeoutMillis=" + handshakeTimeoutMillis + "]";
        }
    }

    private final BundleContext context;
    private final Object lock = new Object();
    private Settings settings;
    private ServiceRegistration<Transport> registration;
    private boolean deactivated;

    /** Declarative Services: the raw properties of PID {@value #PID}, checked by {@link Settings#read}. */
    @Activate
    public UcxTransportComponent(BundleContext context, Map<String, Object> properties) {
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
        JucxClassReferences.holdForThisRevision();
        Settings initial = Settings.read(properties, Settings.DEFAULTS, LOG::warn);
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
    void modified(Map<String, Object> properties) {
        if (!Ucx.isAvailable()) {
            return;
        }
        ServiceRegistration<Transport> current;
        boolean inPlace;
        Settings next;
        synchronized (lock) {
            if (settings == null || deactivated) {
                return;
            }
            current = registration; // null while the key could not be had: a new one may fix that
            next = Settings.read(properties, settings, LOG::warn);
            inPlace = current != null && next.sameTransportAs(settings);
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
        if (current != null) {
            unregister(current);
        }
        ServiceRegistration<Transport> replacement = register(next);
        boolean late;
        synchronized (lock) {
            late = deactivated;
            if (!late) {
                registration = replacement;
            }
        }
        if (late && replacement != null) {
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
        if (Ucx.isAvailable()) {
            // The core closed this revision's transports during the unregistration: let it be collected.
            JucxClassReferences.releaseForThisRevision();
        }
    }

    /**
     * Registers a transport for {@code s}, or nothing (one warning) when the rendezvous' shared key
     * cannot be had: a provider whose every startup would fail is worse than none (docs/security.md,
     * SEC-8). The key is read here first so that a missing key file is generated, and its place
     * logged, when the bundle starts.
     */
    private ServiceRegistration<Transport> register(Settings s) {
        RendezvousKey.Source key = new RendezvousKey.Source(s.sharedKey(), s.keyPath());
        try {
            key.load();
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("no ucx transport is registered: no shared key for the UCX rendezvous ({}): {}", key, e.getMessage());
            return null;
        }
        ServiceRegistration<Transport> reg = context.registerService(Transport.class, new UcxTransport(s.policy(),
                s.transports(), key, Duration.ofMillis(s.handshakeTimeoutMillis())), s.serviceProperties());
        LOG.info("ucx transport registered: transports '{}', progress policy {}, SAN subnets {}, {}, handshake timeout"
                + " {} ms", s.transports(), s.policy(), s.sanSubnets(), key, s.handshakeTimeoutMillis());
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
