package io.sanswitch.api;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

import io.sanswitch.spi.WsaException;

/**
 * The switch as an OSGi service: opens connections and listeners on whichever SAN service provider
 * fits, per connection (docs/architecture.md). A peer on a SAN subnet is reached over the RDMA provider while
 * one is running; everything else, and every connection the RDMA provider cannot make, goes over
 * TCP (docs/rules.md SW-certain).
 *
 * <p>{@code @ProviderType}: only sanswitch's core implements it; applications call it.
 */
@ProviderType
public interface SocketSwitch {

    /**
     * Connects to {@code remote} and waits for the outcome.
     *
     * @throws WsaException {@code WSAEFAULT} (no resolved address), {@code WSAENETDOWN} (no provider
     *     is running), {@code WSAECONNREFUSED}, {@code WSAECONNRESET}, {@code WSAEHOSTUNREACH},
     *     {@code WSAETIMEDOUT} and the other connect errors of the SPI
     */
    SwitchSocket connect(InetSocketAddress remote) throws WsaException;

    /**
     * Starts a connect; the stage completes with the connected socket or exceptionally with a
     * {@link WsaException} (the same codes as {@link #connect}).
     */
    CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote);

    /**
     * Connects to {@code remote} over the named provider only ({@link ProviderChoice.Reason#PINNED}):
     * no subnet rule, no fallback. Over an RDMA provider the connect goes to the port derived from
     * {@code remote}'s (the switch's {@code rdmaPortOffset}), exactly as an unpinned RDMA connect does,
     * so it reaches a listener of this switch on {@code remote}.
     *
     * @param provider the transport name ("ucx", "tcp"); {@code null} is {@link #connect(InetSocketAddress)}
     * @throws WsaException {@code WSAENETDOWN} when no provider of that name is running (or it stops
     *     mid-connect); otherwise the codes of {@link #connect(InetSocketAddress)}, as the provider
     *     reported them
     */
    SwitchSocket connect(InetSocketAddress remote, String provider) throws WsaException;

    /** {@link #connect(InetSocketAddress, String)} without waiting: the same outcomes, as a stage. */
    CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote, String provider);

    /**
     * {@link #connect(InetSocketAddress, String)} with a local address and socket options set before connecting
     * (docs/rules.md SW-replay): the switch binds the provider socket it creates to {@code setup}'s address and
     * replays its options in the order set, then connects. When the RDMA provider refuses any of that, its socket
     * is closed and the connection goes over TCP with the same bind and options
     * ({@link ProviderChoice.Reason#SETUP_REFUSED}); a pinned connect, and TCP itself, fail with the provider's code.
     *
     * @param provider the transport name, or {@code null} for the switch's choice
     * @param setup copied when called; {@code null} is an empty setup
     * @throws WsaException the codes of {@link #connect(InetSocketAddress, String)}; those of the SPI's
     *     {@code bind} ({@code WSAEADDRINUSE}, {@code WSAEADDRNOTAVAIL}, ...) and {@code setSockOpt}
     *     ({@code WSAENOPROTOOPT} for an option the provider does not keep); {@code WSAEINVAL} for a local address
     *     of another family than {@code remote}'s
     * @since 1.1
     */
    SwitchSocket connect(InetSocketAddress remote, String provider, SocketSetup setup) throws WsaException;

    /** {@link #connect(InetSocketAddress, String, SocketSetup)} without waiting: the same outcomes, as a stage. @since 1.1 */
    CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote, String provider, SocketSetup setup);

    /**
     * Listens on {@code local} with every running provider that can reach it (docs/rules.md SW-join, SW-subnet): the TCP
     * provider on {@code local}'s port, the RDMA provider on a port derived from it (see the switch's
     * configuration). Port 0 picks a free port. Providers that start later join existing listeners.
     *
     * @param backlog connections accepted by the providers and not yet taken by {@code accept};
     *     further requests are refused
     * @throws WsaException {@code WSAEFAULT}, {@code WSAEINVAL} (bad backlog), {@code WSAEADDRINUSE},
     *     {@code WSAEADDRNOTAVAIL}, {@code WSAENETDOWN} (no provider can listen there)
     */
    SwitchServerSocket listen(InetSocketAddress local, int backlog) throws WsaException;

    /**
     * Listens on {@code local} with the named provider only: an RDMA provider on the derived port
     * (whatever the SAN subnets say), any other on {@code local}'s port. {@link
     * SwitchServerSocket#localAddress()} is {@code local} with the chosen port in both cases, so a
     * {@linkplain #connect(InetSocketAddress, String) pinned connect} to it over the same provider
     * meets it. A provider of that name that starts later joins the listener; others do not.
     *
     * @param provider the transport name ("ucx", "tcp"); {@code null} is {@link #listen(InetSocketAddress, int)}
     * @throws WsaException {@code WSAENETDOWN} when no provider of that name is running; otherwise
     *     the codes of {@link #listen(InetSocketAddress, int)}
     */
    SwitchServerSocket listen(InetSocketAddress local, int backlog, String provider) throws WsaException;

    /** The providers the switch uses right now, by transport name ("tcp", "ucx"). */
    List<String> providers();

    /** Counters for diagnostics and leak checks; a snapshot. */
    SwitchStatistics statistics();
}
