package io.sanswitch.core;

/** Why a final cleanup runs (logged with it). */
public enum CleanupReason {
    /** A cleanup call took the reference count to zero. */
    COUNT_REACHED_ZERO,
    /** The backend is going away (its bundle stops), whatever the count. */
    TRANSPORT_LEAVING
}
