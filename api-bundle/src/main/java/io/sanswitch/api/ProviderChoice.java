package io.sanswitch.api;

import java.util.Objects;

import io.sanswitch.spi.WsaError;

/**
 * Which provider carries a connection and why (docs/rules.md SW-subnet, SW-certain).
 *
 * @param provider the transport name ("ucx", "tcp")
 * @param reason why that provider
 * @param rdmaError for {@link Reason#FELL_BACK} and {@link Reason#RECENT_RDMA_FAILURE}: the RDMA
 *     provider's failure that sent the connection to TCP; otherwise {@code null}
 */
public record ProviderChoice(String provider, Reason reason, WsaError rdmaError) {

    /** Why a provider was chosen, or why RDMA was not. */
    public enum Reason {
        /** The peer is on a SAN subnet and the RDMA provider connected. */
        SAN_SUBNET,
        /** The peer is on no SAN subnet: TCP. */
        NOT_ON_SAN_SUBNET,
        /** The peer is on a SAN subnet but no RDMA provider is running (or it stopped mid-connect): TCP. */
        RDMA_PROVIDER_DOWN,
        /** The RDMA connect failed with a code that allows the fallback (docs/rules.md SW-certain): TCP. */
        FELL_BACK,
        /** An RDMA connect to this peer failed recently: straight to TCP. */
        RECENT_RDMA_FAILURE,
        /**
         * The RDMA provider refused the application's bind or one of its options before connecting
         * (docs/rules.md SW-replay; {@link ProviderChoice#rdmaError()} is its code): TCP. Not remembered for
         * the peer, since it is this connection's setup that failed. @since 1.1
         */
        SETUP_REFUSED,
        /** Accepted from a listener of this provider. */
        ACCEPTED,
        /** The application named the provider ({@code connect(remote, provider)}): no rule, no fallback. */
        PINNED
    }

    public ProviderChoice {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String toString() {
        return provider + " (" + reason + (rdmaError != null ? " after " + rdmaError : "") + ")";
    }
}
