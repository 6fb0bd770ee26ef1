package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import org.junit.jupiter.api.Test;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.core.management.PlatformBeans;
import io.sanswitch.spi.WsaError;

/**
 * The switch's MBean as a generic JMX client sees it: registered on an MBean server of its own (an
 * interface that is no valid MXBean fails here), every attribute an open type, the counts the
 * switch's own.
 */
class SwitchMBeanViewTest {

    @Test
    void aSwitchWithoutConnectionsListsEveryReasonAtZeroAndItsRememberedFailures() throws Exception {
        MBeanServer server = MBeanServerFactory.newMBeanServer();
        Switch sw = new Switch(SwitchSettings.defaults());
        try {
            ObjectName name = PlatformBeans.name("Switch", null);
            server.registerMBean(new SwitchMBeanView(sw), name);

            TabularData byReason = (TabularData) server.getAttribute(name, "ConnectionsByReason");
            assertEquals(ProviderChoice.Reason.values().length, byReason.size());
            for (Object row : byReason.values()) {
                assertEquals(0L, ((CompositeData) row).get("value"), row.toString());
            }
            assertEquals(0L, server.getAttribute(name, "Fallbacks"));
            assertEquals(0, server.getAttribute(name, "Connections"));
            assertEquals(0, server.getAttribute(name, "SwitchConnections"));
            assertArrayEquals(new String[0], (String[]) server.getAttribute(name, "Providers"));
            assertEquals(0, server.getAttribute(name, "FailuresRemembered"));

            sw.failures().remember(InetAddress.getByName("10.0.0.7"), WsaError.WSAETIMEDOUT, Duration.ofMinutes(1));
            sw.failures().remember(InetAddress.getByName("10.0.0.8"), WsaError.WSAETIMEDOUT, Duration.ofMinutes(1));
            assertEquals(2, server.getAttribute(name, "FailuresRemembered"));
        } finally {
            sw.deactivate();
        }
    }

    @Test
    void onlyFailuresNotYetExpiredAreCountedAsRemembered() throws Exception {
        AtomicLong now = new AtomicLong(1_000);
        FailureMemory memory = new FailureMemory(now::get);
        memory.remember(InetAddress.getByName("10.0.0.7"), WsaError.WSAETIMEDOUT, Duration.ofSeconds(5));
        memory.remember(InetAddress.getByName("10.0.0.8"), WsaError.WSAETIMEDOUT, Duration.ofSeconds(10));
        assertEquals(2, memory.remembered());
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        // nobody asked for 10.0.0.7 since its memory ran out: it must not count all the same
        assertEquals(1, memory.remembered());
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertEquals(0, memory.remembered());
    }
}
