package io.sanswitch.spi;

/**
 * The outcome of one overlapped operation: what {@code WPUCompleteOverlappedRequest} carries and
 * what {@code getOverlappedResult} reads (docs/rules.md BG-overlapped).
 *
 * @param error {@code null} for success, else the operation's error (for example
 *     {@link WsaError#WSA_OPERATION_ABORTED} when closeSocket or the final cleanup cancelled it)
 * @param bytesTransferred bytes moved before the operation ended (for an aborted one, the bytes
 *     moved before the abort, usually 0: docs/rules.md Q5)
 * @param flags result flags ({@code Offset} of the overlapped), 0 on the SAN path
 */
public record OverlappedResult(WsaError error, long bytesTransferred, int flags) {
    public OverlappedResult {
        if (bytesTransferred < 0) {
            throw new IllegalArgumentException("bytesTransferred < 0: " + bytesTransferred);
        }
    }

    public static OverlappedResult success(long bytesTransferred) {
        return new OverlappedResult(null, bytesTransferred, 0);
    }

    public static OverlappedResult failure(WsaError error, long bytesTransferred) {
        if (error == null) {
            throw new IllegalArgumentException("a failure has an error");
        }
        return new OverlappedResult(error, bytesTransferred, 0);
    }

    public boolean isSuccess() {
        return error == null;
    }
}
