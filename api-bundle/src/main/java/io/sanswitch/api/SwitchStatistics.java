package io.sanswitch.api;

import java.util.Map;

/**
 * Counters of the switch, for diagnostics and leak checks.
 *
 * @param connections open {@link SwitchSocket}s
 * @param listeners open {@link SwitchServerSocket}s
 * @param providerSockets provider sockets alive per transport name: handles the providers created
 *     through the switch's upcall table and have not closed yet (docs/rules.md SK-handle)
 * @param memoryRegistrations memory registrations (local and RDMA) the switch holds on provider sockets
 * @param eventsDuringCleanup FD_* event upcalls that reached the switch from a withdrawn provider after
 *     the switch's {@code cleanup} call on it returned (the final cleanup, or after it: what the SPI
 *     lets the switch know about the provider's notification gate); docs/rules.md LC-a says there must be none
 * @param connectsByReason connections made so far, by {@link ProviderChoice.Reason} name; under
 *     {@code MOVED} the moves of open connections to another provider (1.2)
 */
public record SwitchStatistics(int connections, int listeners, Map<String, Integer> providerSockets,
        long memoryRegistrations, long eventsDuringCleanup, Map<String, Long> connectsByReason) {

    public SwitchStatistics {
        providerSockets = Map.copyOf(providerSockets);
        connectsByReason = Map.copyOf(connectsByReason);
    }

    /** Provider sockets alive over all providers. */
    public int totalProviderSockets() {
        return providerSockets.values().stream().mapToInt(Integer::intValue).sum();
    }
}
