package io.sanswitch.core;

/**
 * Where the time of one final cleanup went, step by step (docs/rules.md LC-order), measured by
 * {@link CleanupSequence} with {@link System#nanoTime()} at each step boundary: five clock reads
 * per cleanup, nothing per socket or per operation. Each figure is at least 0 and their sum is at
 * most {@link CleanupRecord#durationNanos()} (which also holds the bookkeeping between steps).
 *
 * @param gateNanos a: notification gate closed, event postings and SPI calls drained
 * @param abortNanos b: pending operations cancelled, memory released, completed with
 *     {@code WSA_OPERATION_ABORTED}
 * @param resetNanos c: open sockets reset and released
 * @param transportNanos d and e: the transport's resources released and its network state read
 */
public record CleanupSteps(long gateNanos, long abortNanos, long resetNanos, long transportNanos) {
    /** For a record made without a split (the compatibility constructor of {@link CleanupRecord}). */
    public static final CleanupSteps UNKNOWN = new CleanupSteps(0, 0, 0, 0);

    public long sumNanos() {
        return gateNanos + abortNanos + resetNanos + transportNanos;
    }
}
