package io.sanswitch.api;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

import io.sanswitch.spi.WsaException;

/**
 * The switch as an OSGi service: opens connections and listeners on whichever SAN service provider
 * fits, per connection (DESIGN 1). A peer on a SAN subnet is reached over the RDMA provider while
 * one is running; everything else, and every connection the RDMA provider cannot make, goes over
 * TCP (spec 6.2).
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
     * Listens on {@code local} with every running provider that can reach it (spec 1.2, 6.1): the TCP
     * provider on {@code local}'s port, the RDMA provider on a port derived from it (see the switch's
     * configuration). Port 0 picks a free port. Providers that start later join existing listeners.
     *
     * @param backlog connections accepted by the providers and not yet taken by {@code accept};
     *     further requests are refused
     * @throws WsaException {@code WSAEFAULT}, {@code WSAEINVAL} (bad backlog), {@code WSAEADDRINUSE},
     *     {@code WSAEADDRNOTAVAIL}, {@code WSAENETDOWN} (no provider can listen there)
     */
    SwitchServerSocket listen(InetSocketAddress local, int backlog) throws WsaException;

    /** The providers the switch uses right now, by transport name ("tcp", "ucx"). */
    List<String> providers();

    /** Counters for diagnostics and leak checks; a snapshot. */
    SwitchStatistics statistics();
}
