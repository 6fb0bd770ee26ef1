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

    /** Open {@code SwitchSocket}s. */
    int getConnections();

    /** Open {@code SwitchServerSocket}s. */
    int getListeners();

    /** Connections made so far by {@code ProviderChoice.Reason} (SAN_SUBNET, FELL_BACK, ...; MOVED counts moves), every reason listed. */
    Map<String, Long> getConnectionsByReason();

    /** Connections that fell back to TCP after their RDMA connect failed (the FELL_BACK count). */
    long getFallbacks();

    /** Peers whose recent RDMA failure still sends their connections to TCP (RECENT_RDMA_FAILURE). */
    int getFailuresRemembered();

    /** Provider sockets alive per backend name. */
    Map<String, Integer> getProviderSockets();

    /** Memory registrations the switch holds on provider sockets. */
    long getMemoryRegistrations();

    /** FD_* events a withdrawn provider delivered after its final cleanup had closed its gate (docs/rules.md LC-a: must stay 0). */
    long getEventsDuringCleanup();
}
