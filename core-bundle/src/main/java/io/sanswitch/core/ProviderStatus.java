package io.sanswitch.core;

/**
 * One consistent-enough look at a provider for {@code san:providers}: the lifecycle fields come
 * from one snapshot; the socket and operation counts are read just after, without stopping the
 * provider (diagnostics must never hold up its data path).
 *
 * @param provider the backend's name
 * @param state lifecycle state ({@code IDLE}, {@code STARTING}, {@code RUNNING}, {@code CLEANING_UP})
 * @param referenceCount outstanding startups
 * @param openSockets sockets in the handle table
 * @param pendingOperations posted operations not yet completed
 * @param generation the current (or last) run's startup generation; 0 before the first startup
 * @param finalCleanups final cleanups this provider has run
 */
public record ProviderStatus(String provider, String state, int referenceCount, int openSockets,
        int pendingOperations, long generation, long finalCleanups) {
}
