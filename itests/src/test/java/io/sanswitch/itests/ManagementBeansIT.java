package io.sanswitch.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static io.sanswitch.itests.Eventually.eventually;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import javax.inject.Inject;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import org.junit.Before;
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

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.WsaError;

/**
 * The MBeans of issue 15 in Felix, read the way jconsole or a JMX exporter reads them: through the
 * platform MBean server, by object name and attribute name, with no sanswitch class on the reading
 * side. Their values agree with the engines (read from the provider services) and with the switch's
 * statistics after real connections; they go when their components stop and come back with them.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ManagementBeansIT {
    private static final String CORE_BSN = "io.sanswitch.core";
    private static final String RDMA_BSN = "io.sanswitch.rdma";
    private static final String SWITCH_PID = "io.sanswitch.switch";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final ObjectName SWITCH = name("io.sanswitch:type=Switch");
    private static final ObjectName TCP = name("io.sanswitch:type=Provider,name=tcp");
    private static final ObjectName UCX = name("io.sanswitch:type=Provider,name=ucx");
    private static final ObjectName ALL = name("io.sanswitch:*");

    @Inject
    private BundleContext context;

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

    @Configuration
    public Option[] config() {
        return FelixOptions.with(FelixOptions.reactorBundle("rdma"));
    }

    @Before
    public void everythingIsUp() throws Exception {
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith("io.sanswitch.")
                    && b.getState() != Bundle.ACTIVE) {
                b.start();
            }
        }
        eventually("the switch and both providers have their MBeans",
                () -> names().equals(Set.of(SWITCH, TCP, UCX)));
        eventually("the switch runs both providers", () -> {
            String[] providers = (String[]) attribute(SWITCH, "Providers");
            return providers.length == 2;
        });
        // The switch's defaults (no SAN subnet), in force: a listener on loopback is on tcp only.
        configureSwitch(null, 0);
        SocketSwitch sw = awaitService(SocketSwitch.class);
        eventually("loopback is no SAN address for the switch", () -> {
            try (SwitchServerSocket probe = sw.listen(new InetSocketAddress(LOOPBACK, 0), 1)) {
                return probe.providers().equals(java.util.List.of("tcp"));
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Test
    public void providerAttributesAreTheEnginesFigures() throws Exception {
        for (String transport : new String[] {"tcp", "ucx"}) {
            ObjectName bean = transport.equals("tcp") ? TCP : UCX;
            ServiceReference<SanServiceProvider> ref = providerReference(transport);
            Object engine = context.getService(ref);
            try {
                assertEquals(transport, attribute(bean, "Transport"));
                assertEquals(ref.getProperty("service.id"), attribute(bean, "ServiceId"));
                assertEquals("the switch's startup", 1, attribute(bean, "ReferenceCount"));
                Object status = call(engine, "status");
                assertEquals(call(status, "state"), attribute(bean, "State"));
                assertEquals("RUNNING", attribute(bean, "State"));
                assertEquals(call(status, "referenceCount"), attribute(bean, "ReferenceCount"));
                assertEquals(call(status, "generation"), attribute(bean, "Generation"));
                assertEquals(call(status, "finalCleanups"), attribute(bean, "FinalCleanups"));
                assertEquals(call(engine, "openSockets"), attribute(bean, "OpenSockets"));
                assertEquals(call(engine, "pendingOperations"), attribute(bean, "PendingOperations"));
                assertEquals(call(engine, "bytesSent"), attribute(bean, "BytesSent"));
                assertEquals(call(engine, "bytesReceived"), attribute(bean, "BytesReceived"));
            } finally {
                context.ungetService(ref);
            }
        }
    }

    @Test
    public void aConnectionThroughTheSwitchShowsInItsProvidersSocketsBytesAndTheSwitchsReasons() throws Exception {
        SocketSwitch sw = awaitService(SocketSwitch.class);
        // With no SAN subnet configured loopback is no SAN address: the switch listens and connects on tcp.
        long notOnSan = byReason().get(Reason.NOT_ON_SAN_SUBNET.name());
        long accepted = byReason().get(Reason.ACCEPTED.name());
        // No application's listener is open (the probe of everythingIsUp closed). The switch's own, its resume
        // ports (migrate on by default: docs/rules.md SW-migrate-port over tcp, SW-migrate-back over ucx), are
        // not counted among them but shown apart (SW-own-sockets).
        eventually("no application listener", () -> sw.statistics().listeners() == 0);
        assertEquals(0, attribute(SWITCH, "Listeners"));
        SwitchStatistics own = sw.statistics();
        assertEquals(own.toString(), Set.of("tcp", "ucx"), own.resumePorts().keySet());
        assertEquals(new TreeMap<>(own.resumePorts()), table(attribute(SWITCH, "ResumePorts")));
        assertEquals(own.toString(), Map.of("tcp", 1, "ucx", 1), own.switchSockets());
        assertEquals(new TreeMap<>(own.switchSockets()), table(attribute(SWITCH, "SwitchSockets")));
        // docs/rules.md SW-close-off-io: the probe's sockets close on the switch's close threads, maybe still now.
        eventually("no tcp socket open but the switch's own",
                () -> (Integer) attribute(TCP, "OpenSockets") == own.switchSockets().get("tcp"));
        int socketsBefore = (Integer) attribute(TCP, "OpenSockets");
        long sentBefore = (Long) attribute(TCP, "BytesSent");
        long receivedBefore = (Long) attribute(TCP, "BytesReceived");
        byte[] payload = new byte[10_000];
        new java.util.Random(15).nextBytes(payload);

        try (SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
                SwitchSocket client = sw.connect(listener.localAddress());
                SwitchSocket server = listener.accept()) {
            assertEquals(new ProviderChoice("tcp", Reason.NOT_ON_SAN_SUBNET, null), client.choice());
            client.outputStream().write(payload);
            client.outputStream().flush();
            InputStream in = server.inputStream();
            assertArrayEquals(payload, in.readNBytes(payload.length));

            assertEquals("the listener, the client and the accepted socket", socketsBefore + 3,
                    attribute(TCP, "OpenSockets"));
            assertEquals(notOnSan + 1, (long) byReason().get(Reason.NOT_ON_SAN_SUBNET.name()));
            assertEquals(accepted + 1, (long) byReason().get(Reason.ACCEPTED.name()));
            SwitchStatistics stats = sw.statistics();
            assertEquals(stats.connections(), attribute(SWITCH, "Connections"));
            assertEquals(stats.switchConnections(), attribute(SWITCH, "SwitchConnections"));
            assertEquals(stats.listeners(), attribute(SWITCH, "Listeners"));
            assertEquals(2, attribute(SWITCH, "Connections"));
            assertEquals("the application's listener alone", 1, attribute(SWITCH, "Listeners"));
            assertEquals(new TreeMap<>(own.switchSockets()), table(attribute(SWITCH, "SwitchSockets")));
            assertEquals(new TreeMap<>(own.resumePorts()), table(attribute(SWITCH, "ResumePorts")));
            assertEquals(new TreeMap<>(stats.providerSockets()), table(attribute(SWITCH, "ProviderSockets")));
            assertEquals(new TreeMap<>(stats.connectsByReason()), byReason());
            eventually("the sent bytes are counted once the send completes",
                    () -> (Long) attribute(TCP, "BytesSent") == sentBefore + payload.length);
            assertEquals(receivedBefore + payload.length, attribute(TCP, "BytesReceived"));
        }
        eventually("the sockets are gone from the provider",
                () -> (Integer) attribute(TCP, "OpenSockets") == socketsBefore);
        // The switch forgets a connection after handing its socket to the close threads, which may close it first.
        eventually("the switch counts no connection", () -> (Integer) attribute(SWITCH, "Connections") == 0);
        assertEquals("closed sockets keep their bytes in the totals", sentBefore + payload.length,
                attribute(TCP, "BytesSent"));
    }

    @Test
    public void aFallbackIsCountedAndItsPeerRemembered() throws Exception {
        SocketSwitch sw = awaitService(SocketSwitch.class);
        InetAddress peer = InetAddress.getByName("127.0.0.2");
        configureSwitch("127.0.0.2/32", 60);
        try (ServerSocket plain = new ServerSocket(FreePorts.freeRun(peer, 2), 4, peer)) {
            InetSocketAddress at = new InetSocketAddress(peer, plain.getLocalPort());
            eventually("127.0.0.2 is a SAN address for the switch", () -> {
                try (SwitchServerSocket probe = sw.listen(new InetSocketAddress(peer, 0), 1)) {
                    return probe.providers().contains("ucx");
                } catch (Exception e) {
                    return false;
                }
            });
            long fallbacks = (Long) attribute(SWITCH, "Fallbacks");
            int remembered = (Integer) attribute(SWITCH, "FailuresRemembered");
            // No RDMA listener at port + 1: the RDMA connect times out and the switch falls back to TCP.
            try (SwitchSocket s = sw.connect(at)) {
                assertEquals(new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAETIMEDOUT), s.choice());
                plain.accept().close();
            }
            assertEquals(fallbacks + 1, attribute(SWITCH, "Fallbacks"));
            assertEquals(byReason().get(Reason.FELL_BACK.name()), attribute(SWITCH, "Fallbacks"));
            assertEquals("127.0.0.2 is remembered", remembered + 1, attribute(SWITCH, "FailuresRemembered"));
            try (SwitchSocket again = sw.connect(at)) {
                assertEquals(Reason.RECENT_RDMA_FAILURE, again.choice().reason());
                plain.accept().close();
            }
        } finally {
            configureSwitch(null, 0);
        }
    }

    @Test
    public void theMBeansGoWithTheirBundlesAndComeBackWithThem() throws Exception {
        Bundle rdma = bundle(RDMA_BSN);
        long ucxService = (Long) attribute(UCX, "ServiceId");
        rdma.stop();
        assertEquals("the ucx provider's MBean goes with its service", Set.of(SWITCH, TCP), names());
        String[] providers = (String[]) attribute(SWITCH, "Providers");
        assertArrayEquals(new String[] {"tcp"}, providers);
        rdma.start();
        eventually("the new ucx provider has an MBean", () -> names().contains(UCX));
        assertNotEquals("the new provider's", ucxService, attribute(UCX, "ServiceId"));

        Bundle core = bundle(CORE_BSN);
        core.stop();
        assertEquals("no sanswitch MBean is left when the core bundle stops", Set.of(), names());
        core.start();
        eventually("the switch and both providers have their MBeans again",
                () -> names().equals(Set.of(SWITCH, TCP, UCX)));
        eventually("and the switch runs both providers",
                () -> ((String[]) attribute(SWITCH, "Providers")).length == 2);
    }

    // ------------------------------------------------------------------ helpers

    private Set<ObjectName> names() {
        return new TreeSet<>(server.queryNames(ALL, null));
    }

    private Object attribute(ObjectName bean, String attribute) {
        try {
            return server.getAttribute(bean, attribute);
        } catch (JMException e) {
            throw new AssertionError("attribute " + attribute + " of " + bean + ": " + e, e);
        }
    }

    /** An MXBean map: a table of rows with the columns key and value. */
    private static Map<String, Object> table(Object tabular) {
        Map<String, Object> map = new TreeMap<>();
        for (Object row : ((TabularData) tabular).values()) {
            CompositeData c = (CompositeData) row;
            map.put((String) c.get("key"), c.get("value"));
        }
        return map;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Long> byReason() {
        Map<String, ?> map = table(attribute(SWITCH, "ConnectionsByReason"));
        for (Reason r : Reason.values()) {
            assertTrue("every reason is listed, also at 0: " + r, map.containsKey(r.name()));
        }
        return (Map<String, Long>) map;
    }

    /** A public no-argument method of a core object (the engine is private to the core bundle). */
    private static Object call(Object target, String method) throws Exception {
        Method m = target.getClass().getMethod(method);
        m.setAccessible(true); // a record's accessor in a non-exported package
        return m.invoke(target);
    }

    private ServiceReference<SanServiceProvider> providerReference(String transport) throws Exception {
        var refs = context.getServiceReferences(SanServiceProvider.class, "(sanswitch.transport=" + transport + ")");
        assertEquals("one provider over " + transport, 1, refs.size());
        return refs.iterator().next();
    }

    private Bundle bundle(String bsn) {
        return Bundles.bySymbolicName(context, bsn);
    }

    /** {@code subnet} null: the switch's configuration deleted (its defaults: no SAN subnet). */
    private void configureSwitch(String subnet, int failureMemorySeconds) throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        assertNotNull("no ConfigurationAdmin", ref);
        ConfigurationAdmin cm = context.getService(ref);
        try {
            org.osgi.service.cm.Configuration c = cm.getConfiguration(SWITCH_PID, "?");
            if (subnet == null) {
                c.delete();
                return;
            }
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("sanSubnets", new String[] {subnet});
            props.put("rdmaFailureMemorySeconds", failureMemorySeconds);
            props.put("connectTimeoutMillis", 3000);
            c.update(props);
        } finally {
            context.ungetService(ref);
        }
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

    private static ObjectName name(String name) {
        try {
            return new ObjectName(name);
        } catch (JMException e) {
            throw new IllegalArgumentException(name, e);
        }
    }
}
