package io.sanswitch.core.switcher.view;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * What {@code san:switch} and {@code san:route} show of the switch: its effective settings with
 * where each came from, the providers it has bound, and the route a connect would take. The
 * switch registers it as a service (core-bundle private, as {@link SocketReasons}); the shell
 * only formats it.
 *
 * <p>Called on the shell's thread: must not block, and never connects anything.
 */
public interface SwitchView {

    /**
     * One effective setting.
     *
     * @param name the property of PID {@code io.sanswitch.switch} (or the service property it comes from)
     * @param value the value in force, as text
     * @param source where it came from: the PID, a provider's service property, or the default
     */
    record Setting(String name, String value, String source) {
    }

    /**
     * A provider bound to the switch.
     *
     * @param name its transport name
     * @param role what the switch uses it for now
     * @param capabilities what the switch learned at its startup
     * @param subnets the SAN subnets it publishes, comma-separated, or empty
     */
    record Provider(String name, String role, String capabilities, String subnets) {
    }

    /**
     * What a connect to a peer would do now.
     *
     * @param provider the provider of the first attempt, or {@code null} when none is running
     * @param target the address that attempt connects to
     * @param reason the switch's reason (a {@code ProviderChoice.Reason} name)
     * @param detail the reason in words, with the time a remembered failure still counts
     */
    record RouteAnswer(String provider, InetSocketAddress target, String reason, String detail) {
    }

    /**
     * A resume port of the switch's own (docs/migration.md sections 3 and 6, docs/rules.md SW-own-sockets):
     * no application's listener, but a port an operator opens in a firewall between two switches.
     *
     * @param provider the provider it listens over
     * @param port the port announced to peers (SESSION, RETURN)
     * @param listensAt the port the provider listens at: {@code port}, or for an RDMA provider {@code port}
     *     plus {@code rdmaPortOffset}
     * @param purpose what comes in there, in words
     */
    record OwnPort(String provider, int port, int listensAt, String purpose) {
    }

    /** The switch's resume ports listening now; none while {@code migrate} is off. */
    default List<OwnPort> resumePortsListening() {
        return List.of();
    }

    /**
     * Of each provider's open sockets, those the switch holds for itself (its resume ports' listeners),
     * by provider name; a provider with none is not listed.
     */
    default Map<String, Integer> ownSockets() {
        return Map.of();
    }

    /** The settings in force, each with its source. */
    List<Setting> settingsInForce();

    /** The providers bound, by name. */
    List<Provider> providersBound();

    /** What a connect to {@code peer} (a resolved address) would do now; connects nothing. */
    RouteAnswer routeTo(InetSocketAddress peer);
}
