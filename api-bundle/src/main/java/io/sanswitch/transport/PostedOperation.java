package io.sanswitch.transport;

import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ProviderType;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * One overlapped transfer as the backend sees it: what to move and where. Created by the engine
 * and handed to {@link TransportSocket#post}; the backend reports its end exactly once through
 * {@link TransportEvents}, unless the engine {@linkplain TransportSocket#cancel cancelled} it first.
 *
 * <p>The buffers are slices of the switch's registered memory, already checked against their
 * registrations: positioned at 0 with the limit at the length. For {@link Kind#SEND} and
 * {@link Kind#RDMA_WRITE} the backend reads them; for {@link Kind#RECV} and {@link Kind#RDMA_READ}
 * it writes into them (no intermediate copy where it can avoid one, docs/architecture.md, threads).
 *
 * <p>{@code @ProviderType}: only core implements it.
 */
@ProviderType
public interface PostedOperation {

    enum Kind {
        SEND, RECV, RDMA_WRITE, RDMA_READ
    }

    Kind kind();

    /** The buffers, in order. The same array and buffers on every call. */
    ByteBuffer[] buffers();

    /** Total bytes of {@link #buffers()}. */
    long length();

    /** {@link #buffers()} registrations as the backend made them, index by index. */
    TransportRegion[] regions();

    /** For RDMA: the peer's descriptor; {@code null} otherwise. */
    RdmaBufferDescriptor remoteDescriptor();

    /** For RDMA: the offset inside the peer's buffer; 0 otherwise. */
    long remoteOffset();

    /** A slot the backend may use for its own per-operation state (e.g. a UCX request). */
    Object backendState();

    void backendState(Object state);
}
