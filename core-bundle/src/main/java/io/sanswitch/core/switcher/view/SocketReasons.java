package io.sanswitch.core.switcher.view;

/**
 * The switch's account of its sockets, for {@code san:sockets}: why a connection went to the provider it is on
 * ("peer 10.1.0.7 in SAN subnet 10.1.0.0/16", "fallback: ucx provider stopped"). The switch knows
 * this and the engines do not, so the switch component registers an implementation of this
 * interface as a service (core-bundle private: the shell lives in the same bundle) and the shell's
 * {@code SanCommands} asks it for each open socket. Without one the column shows "-".
 *
 * <p>Called on the shell's thread while the listing is built: must not block.
 */
public interface SocketReasons {

    /**
     * @param provider the provider's backend name ("ucx", "tcp")
     * @param switchHandle the handle the switch returned from {@code createSocketHandle} for the
     *     socket
     * @return the reason the socket is on this provider, or {@code null} if the switch did not
     *     open it (a listener, a socket of {@code san:bench})
     */
    String reasonFor(String provider, long switchHandle);
}
