package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.core.ScriptedProvider;
import io.sanswitch.core.management.PlatformBeans;
import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.TransportProperties;

/**
 * docs/rules.md SW-own-sockets: with {@code migrate} on (the default) the switch opens two listeners of
 * its own, its resume ports over tcp and over ucx (docs/migration.md sections 3 and 6). What an operator
 * reads counts them apart from the application's listeners: the statistics, the MBean and {@code
 * san:switch}'s list. Scripted providers: a stream one named tcp and an RDMA one named ucx.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SwitchOwnSocketsTest {
    private final ScriptedProvider tcp = ScriptedProvider.streamOnly("tcp");
    private final ScriptedProvider ucx = new ScriptedProvider("ucx");
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private Switch sw;
    private ObjectName bean;

    @BeforeEach
    void start() throws Exception {
        sw = new Switch(SwitchSettings.defaults());
        assertTrue(sw.settings().migration().migrate(), "migrate is on by default");
        sw.bindProvider(tcp.engine(), Map.of(TransportProperties.TRANSPORT, "tcp"));
        sw.bindProvider(ucx.engine(), Map.of(TransportProperties.TRANSPORT, "ucx"));
        bean = PlatformBeans.name("Switch", null);
        server.registerMBean(new SwitchMBeanView(sw), bean);
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    private Map<Object, Object> table(String attribute) throws Exception {
        Map<Object, Object> m = new TreeMap<>();
        for (Object row : ((TabularData) server.getAttribute(bean, attribute)).values()) {
            m.put(((CompositeData) row).get("key"), ((CompositeData) row).get("value"));
        }
        return m;
    }

    @Test
    @Checks("SW-own-sockets")
    void withNoApplicationListenerNoneIsCountedAndTheResumePortsAreShownApart() throws Exception {
        int tcpPort = sw.resumePort();
        int ucxPort = sw.returnPort();
        assertTrue(tcpPort > 0 && ucxPort > 0, "both resume ports listen: " + tcpPort + ", " + ucxPort);

        SwitchStatistics s = sw.statistics();
        assertEquals(0, s.listeners(), "no application listener: " + s);
        assertEquals(Map.of("tcp", tcpPort, "ucx", ucxPort), s.resumePorts());
        assertEquals(Map.of("tcp", 1, "ucx", 1), s.switchSockets(), "each resume port's listener, the switch's own");
        assertEquals(Map.of("tcp", 1, "ucx", 1), s.providerSockets(), "the provider sockets, the switch's own among them");
        assertEquals(2, s.totalSwitchSockets());

        assertEquals(0, server.getAttribute(bean, "Listeners"));
        assertEquals(Map.of("tcp", tcpPort, "ucx", ucxPort), table("ResumePorts"));
        assertEquals(Map.of("tcp", 1, "ucx", 1), table("SwitchSockets"));
        assertEquals(Map.of("tcp", 1, "ucx", 1), table("ProviderSockets"));

        // san:switch's list: the port announced, the provider, the port it listens at (RDMA: + rdmaPortOffset).
        int offset = sw.settings().rdmaPortOffset();
        assertEquals(List.of(new SwitchView.OwnPort("tcp", tcpPort, tcpPort, "moves to TCP"),
                new SwitchView.OwnPort("ucx", ucxPort, ucxPort + offset, "moves back to RDMA")), sw.resumePortsListening());
        assertEquals(Map.of("tcp", 1, "ucx", 1), sw.ownSockets());
        // san:sockets: the resume port's socket says what it is, not "LISTENING: switch listener" as an application's.
        assertEquals(List.of("RESUME PORT: the switch's own listener for moves to tcp, port " + tcpPort),
                tcp.engine().sockets().stream().map(x -> sw.reasonFor("tcp", x.switchHandle())).toList());
        assertEquals(List.of("RESUME PORT: the switch's own listener for moves back to ucx, port " + ucxPort
                + " (RDMA port +" + offset + ")"),
                ucx.engine().sockets().stream().map(x -> sw.reasonFor("ucx", x.switchHandle())).toList());
    }

    @Test
    @Checks("SW-own-sockets")
    void anApplicationListenerCountsOneAndTheResumePortsStayApart() throws Exception {
        try (SwitchServerSocket l = sw.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4)) {
            SwitchStatistics s = sw.statistics();
            assertEquals(1, s.listeners(), s.toString());
            assertEquals(1, server.getAttribute(bean, "Listeners"));
            assertEquals(Map.of("tcp", 1, "ucx", 1), s.switchSockets(), "the switch's own, unchanged");
            assertEquals(2, s.providerSockets().get("tcp"), "the application's listener beside the resume port");
            assertEquals(Map.of("tcp", sw.resumePort(), "ucx", sw.returnPort()), table("ResumePorts"));
        }
        Eventually.until("the application's listener gone", () -> sw.statistics().listeners() == 0
                && sw.statistics().providerSockets().get("tcp") == 1);
    }

    @Test
    @Checks("SW-own-sockets")
    void withMigrateOffThereIsNoResumePortToShow() throws Exception {
        sw.modified(Map.of("migrate", "false"));
        Eventually.until("the resume ports closed", () -> sw.statistics().totalProviderSockets() == 0);
        SwitchStatistics s = sw.statistics();
        assertEquals(Map.of(), s.resumePorts());
        assertEquals(Map.of(), s.switchSockets());
        assertEquals(0, s.listeners());
        assertEquals(Map.of(), table("ResumePorts"));
        assertEquals(List.of(), sw.resumePortsListening());
    }
}
