package io.sanswitch.transport;

import org.osgi.annotation.versioning.ProviderType;

import io.sanswitch.spi.WsaError;

/**
 * How a backend reports to the engine. Backends <i>report</i>; only the engine <i>completes</i>:
 * it decides, through one atomic state per operation, whether a report still counts (an operation
 * already cancelled or aborted ignores it), and it alone makes upcalls.
 *
 * <p>Implemented by the engine. Every method may be called from any backend thread, never blocks
 * for long, never throws, and may make an upcall to the switch on the calling thread before it
 * returns, so the backend must hold no lock that an SPI call could need while it reports.
 *
 * <p>{@code @ProviderType}: only core implements it.
 */
@ProviderType
public interface TransportEvents {

    /**
     * A posted operation ended successfully. For a receive, {@code bytesTransferred} bytes were
     * written into its buffers in order; 0 means the peer closed gracefully.
     */
    void operationCompleted(PostedOperation operation, long bytesTransferred);

    /**
     * A posted operation failed; {@code bytesTransferred} bytes moved before it did. The error
     * should be one of {@code SpiCall.COMPLETION}'s list (a peer reset is {@code WSAECONNRESET});
     * any other is replaced by the engine.
     */
    void operationFailed(PostedOperation operation, WsaError error, long bytesTransferred);

    /**
     * A nonblocking connect of {@code socket} ended: {@code error} is {@code null} on success.
     * Recorded as FD_CONNECT.
     */
    void connectCompleted(TransportSocket socket, WsaError error);

    /** A connection request was queued on the listening {@code socket}. Recorded as FD_ACCEPT. */
    void connectionRequested(TransportSocket socket);

    /**
     * The network subsystem under this run failed. Calls fail with {@code WSAENETDOWN} from now
     * on and the final cleanup reports it.
     */
    void networkSubsystemFailed(String reason);
}
