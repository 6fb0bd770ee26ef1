package io.sanswitch.spi;

/**
 * How {@code connect} returned without failing (docs/rules.md BG-calls, SW-certain). Winsock reports a started
 * nonblocking connect as the error {@code WSAEWOULDBLOCK}; in Java that normal outcome is a value.
 */
public enum ConnectStatus {
    /** Connected at once ({@code 0}). */
    CONNECTED,
    /** Started; the result comes later as FD_CONNECT ({@code WSAEWOULDBLOCK}). */
    IN_PROGRESS
}
