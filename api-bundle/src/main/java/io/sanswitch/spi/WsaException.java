package io.sanswitch.spi;

import java.util.Objects;

/**
 * The only failure type of an SPI call: the Java form of {@code SOCKET_ERROR} plus
 * {@code *lpErrno} (or of the code {@code WSPStartupEx} returns directly). It carries exactly one
 * {@link WsaError}, which must be one that {@link SpiCall#allowedErrors()} lists for the call that
 * threw it (the error lists of docs/rules.md).
 */
public class WsaException extends Exception {
    private static final long serialVersionUID = 1L;

    private final WsaError error;

    public WsaException(WsaError error, String message) {
        super(error + ": " + message);
        this.error = Objects.requireNonNull(error, "error");
    }

    public WsaException(WsaError error, String message, Throwable cause) {
        super(error + ": " + message, cause);
        this.error = Objects.requireNonNull(error, "error");
    }

    /** The Winsock error this failure reports. */
    public WsaError error() {
        return error;
    }
}
