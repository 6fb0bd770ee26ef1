package io.sanswitch.api;

import java.util.Objects;

import io.sanswitch.spi.WsaError;

/**
 * Which provider carries a connection and why (docs/rules.md SW-subnet, SW-certain, SW-migrate-visible).
 *
 * @param provider the transport name ("ucx", "tcp")
 * @param reason why that provider
 * @param rdmaError for {@link Reason#FELL_BACK} and {@link Reason#RECENT_RDMA_FAILURE}: the RDMA
 *     provider's failure that sent the connection to TCP; for {@link Reason#MOVED} with
 *     {@link ProviderMove.Cause#CONNECTION_FAILED}: what the provider the connection left reported, if
 *     it reported an error; otherwise {@code null}
 * @param move for {@link Reason#MOVED}: from where, why, when and the pause; otherwise {@code null}
 *     (@since 1.2)
 */
public record ProviderChoice(String provider, Reason reason, WsaError rdmaError, ProviderMove move) {

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
        PINNED,
        /**
         * The open connection moved here from another provider (docs/migration.md section 4);
         * {@link ProviderChoice#move()} says from where and why. @since 1.2
         */
        MOVED
    }

    public ProviderChoice {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(reason, "reason");
        if ((reason == Reason.MOVED) != (move != null)) {
            throw new IllegalArgumentException("a move exactly when the reason is MOVED: " + reason + ", " + move);
        }
    }

    /** A choice made when the connection was made: no move. */
    public ProviderChoice(String provider, Reason reason, WsaError rdmaError) {
        this(provider, reason, rdmaError, null);
    }

    /** The choice of a connection that moved to {@code provider}. @since 1.2 */
    public static ProviderChoice moved(String provider, ProviderMove move, WsaError error) {
        return new ProviderChoice(provider, Reason.MOVED, error, Objects.requireNonNull(move, "move"));
    }

    @Override
    public String toString() {
        if (move != null) {
            return provider + " (MOVED from " + move.from() + ": " + move.cause() + (rdmaError != null ? " after " + rdmaError : "")
                    + ", paused " + move.pause().toMillis() + " ms)";
        }
        return provider + " (" + reason + (rdmaError != null ? " after " + rdmaError : "") + ")";
    }
}
