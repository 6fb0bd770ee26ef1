package io.sanswitch.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * How an open connection came to the provider it is on when it moved there from another
 * (docs/migration.md section 4, docs/rules.md SW-migrate-visible): part of a {@link ProviderChoice}
 * whose reason is {@link ProviderChoice.Reason#MOVED}.
 *
 * @param from the transport name of the provider the connection left ("ucx")
 * @param cause why it left it
 * @param when when the move began: the connection left {@code from} and held the application's calls
 * @param pause how long the application's calls were held: from the park to the resume over the new
 *     provider, never negative
 * @since 1.2
 */
public record ProviderMove(String from, Cause cause, Instant when, Duration pause) {

    /** Why a connection left its provider. */
    public enum Cause {
        /** This switch's provider went away (its bundle stopped, updated or uninstalled). */
        PROVIDER_WITHDRAWN,
        /**
         * The connection over the provider failed while the provider still ran (the peer's provider may
         * have gone); {@link ProviderChoice#rdmaError()} is what the provider reported, if it reported an error.
         */
        CONNECTION_FAILED,
        /**
         * The session had moved to TCP and went back to RDMA once an RDMA provider ran on both sides
         * again (setting {@code moveBack}). @since 1.3
         */
        PROVIDER_RETURNED
    }

    public ProviderMove {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(cause, "cause");
        Objects.requireNonNull(when, "when");
        Objects.requireNonNull(pause, "pause");
        if (pause.isNegative()) {
            throw new IllegalArgumentException("negative pause " + pause);
        }
    }
}
