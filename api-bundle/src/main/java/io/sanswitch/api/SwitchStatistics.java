package io.sanswitch.api;

import java.util.Map;

/**
 * Counters of the switch, for diagnostics and leak checks.
 *
 * @param connections open {@link SwitchSocket}s, the switch's own among them ({@code switchConnections})
 * @param listeners the application's open {@link SwitchServerSocket}s; the switch's own listeners, its
 *     resume ports, are not among them (before 1.4 they were; see {@code resumePorts})
 * @param providerSockets provider sockets alive per transport name: handles the providers created
 *     through the switch's upcall table and have not closed yet (docs/rules.md SK-handle), the
 *     switch's own among them ({@code switchSockets})
 * @param memoryRegistrations memory registrations (local and RDMA) the switch holds on provider sockets
 * @param eventsDuringCleanup FD_* event upcalls that reached the switch from a withdrawn provider after
 *     the switch's {@code cleanup} call on it returned (the final cleanup, or after it: what the SPI
 *     lets the switch know about the provider's notification gate); docs/rules.md LC-a says there must be none
 * @param connectsByReason connections made so far, by {@link ProviderChoice.Reason} name; under
 *     {@code MOVED} the moves of open connections to another provider (1.2)
 * @param switchSockets of {@code providerSockets}, per transport name, those the switch holds for
 *     itself, not for an application: its resume ports' listeners (docs/rules.md SW-own-sockets); a
 *     transport with none is not listed (1.4)
 * @param resumePorts the switch's resume ports listening now, by the transport each listens over, at the
 *     port it announces to its peers (docs/migration.md sections 3 and 6; an RDMA provider listens at
 *     that port plus the switch's {@code rdmaPortOffset}); empty while migration is off (1.4)
 * @param switchConnections of {@code connections}, those the switch holds for itself, not for an
 *     application: the resume sockets that carry moved sessions, or resume them (docs/rules.md
 *     SW-own-sockets; 1.5)
 */
public record SwitchStatistics(int connections, int listeners, Map<String, Integer> providerSockets,
        long memoryRegistrations, long eventsDuringCleanup, Map<String, Long> connectsByReason,
        Map<String, Integer> switchSockets, Map<String, Integer> resumePorts, int switchConnections) {

    public SwitchStatistics {
        providerSockets = Map.copyOf(providerSockets);
        connectsByReason = Map.copyOf(connectsByReason);
        switchSockets = Map.copyOf(switchSockets);
        resumePorts = Map.copyOf(resumePorts);
    }

    /** The figures of 1.4: no connection of the switch's own. */
    public SwitchStatistics(int connections, int listeners, Map<String, Integer> providerSockets,
            long memoryRegistrations, long eventsDuringCleanup, Map<String, Long> connectsByReason,
            Map<String, Integer> switchSockets, Map<String, Integer> resumePorts) {
        this(connections, listeners, providerSockets, memoryRegistrations, eventsDuringCleanup, connectsByReason,
                switchSockets, resumePorts, 0);
    }

    /** The figures of 1.3: no socket of the switch's own. */
    public SwitchStatistics(int connections, int listeners, Map<String, Integer> providerSockets,
            long memoryRegistrations, long eventsDuringCleanup, Map<String, Long> connectsByReason) {
        this(connections, listeners, providerSockets, memoryRegistrations, eventsDuringCleanup, connectsByReason,
                Map.of(), Map.of(), 0);
    }

    /** Provider sockets alive over all providers, the switch's own among them. */
    public int totalProviderSockets() {
        return providerSockets.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Of {@link #totalProviderSockets()}, the switch's own (its resume ports' listeners). */
    public int totalSwitchSockets() {
        return switchSockets.values().stream().mapToInt(Integer::intValue).sum();
    }
}
