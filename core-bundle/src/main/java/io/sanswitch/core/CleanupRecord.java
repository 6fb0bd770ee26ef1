package io.sanswitch.core;

import java.time.Instant;
import java.util.Objects;

import io.sanswitch.spi.WsaError;

/**
 * What one final cleanup of one provider did, as {@code san:cleanup-history} shows it: recorded by
 * {@link CleanupSequence} with the figures it counted itself, never estimated afterwards.
 *
 * @param provider the backend's name ("ucx", "tcp")
 * @param generation the run (startup generation) that this cleanup ended
 * @param started wall-clock time the sequence began
 * @param reason why it ran
 * @param operationsAborted operations completed with {@code WSA_OPERATION_ABORTED} in step b
 * @param socketsReset sockets reset and released in step c
 * @param durationNanos how long steps a–e took
 * @param result {@code null} for success, else the error the cleanup reported ({@code WSAENETDOWN})
 * @param stepsFailed steps that threw and were skipped past (docs/rules.md LC-order); 0 on a clean run
 * @param steps how {@code durationNanos} split over the steps
 */
public record CleanupRecord(String provider, long generation, Instant started, CleanupReason reason,
        int operationsAborted, int socketsReset, long durationNanos, WsaError result, int stepsFailed,
        CleanupSteps steps) {

    public CleanupRecord {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(started, "started");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(steps, "steps");
    }

    /** The record as it was before the per-step split: kept so existing callers still compile. */
    public CleanupRecord(String provider, long generation, Instant started, CleanupReason reason,
            int operationsAborted, int socketsReset, long durationNanos, WsaError result, int stepsFailed) {
        this(provider, generation, started, reason, operationsAborted, socketsReset, durationNanos, result, stepsFailed,
                CleanupSteps.UNKNOWN);
    }

    /** 0, or the Winsock number of {@link #result()} (10050 for {@code WSAENETDOWN}). */
    public int resultCode() {
        return result == null ? 0 : result.code();
    }

    public boolean networkDown() {
        return result == WsaError.WSAENETDOWN;
    }
}
