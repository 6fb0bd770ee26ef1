package io.sanswitch.core.switcher;

import java.util.List;
import java.util.Map;

/**
 * The switch, {@code io.sanswitch:type=Switch}: its connections and why they went where they did.
 * The maps are open types (a table of key and value) that jconsole, hawtio and the Prometheus JMX
 * exporter read as they are.
 */
public interface SwitchMXBean {

    /** The providers the switch runs now, by backend name. */
    List<String> getProviders();

    /** Open {@code SwitchSocket}s, the switch's own among them ({@link #getSwitchConnections()}). */
    int getConnections();

    /** Of {@link #getConnections()}, the switch's own: the resume sockets of moved sessions (docs/rules.md SW-own-sockets). */
    int getSwitchConnections();

    /** The application's open {@code SwitchServerSocket}s, not the switch's own resume ports ({@link #getResumePorts()}). */
    int getListeners();

    /**
     * The switch's resume ports listening now (docs/migration.md sections 3 and 6), by provider, at the
     * port announced to peers (an RDMA one listens at it plus {@code rdmaPortOffset}): ports of the
     * switch's own, for moved connections, none of an application's. Empty while {@code migrate} is off.
     */
    Map<String, Integer> getResumePorts();

    /** Connections made so far by {@code ProviderChoice.Reason} (SAN_SUBNET, FELL_BACK, ...; MOVED counts moves), every reason listed. */
    Map<String, Long> getConnectionsByReason();

    /** Connections that fell back to TCP after their RDMA connect failed (the FELL_BACK count). */
    long getFallbacks();

    /** Peers whose recent RDMA failure still sends their connections to TCP (RECENT_RDMA_FAILURE). */
    int getFailuresRemembered();

    /** Provider sockets alive per backend name, the switch's own among them ({@link #getSwitchSockets()}). */
    Map<String, Integer> getProviderSockets();

    /** Of the provider sockets, those the switch holds for itself (its resume ports' listeners), per backend name. */
    Map<String, Integer> getSwitchSockets();

    /** Memory registrations the switch holds on provider sockets. */
    long getMemoryRegistrations();

    /** FD_* events a withdrawn provider delivered after its final cleanup had closed its gate (docs/rules.md LC-a: must stay 0). */
    long getEventsDuringCleanup();
}
