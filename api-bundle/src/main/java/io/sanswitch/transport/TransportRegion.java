package io.sanswitch.transport;

import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ConsumerType;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * A buffer registered with the backend (a UCX memory map, or simply the buffer for NIO). The
 * engine keeps the switch-facing handle, counts the transfers using it and decides when it is
 * released; the backend only registers and deregisters.
 */
@ConsumerType
public interface TransportRegion {
    /** The registered memory, position 0, limit its length. */
    ByteBuffer buffer();

    /** For a region exposed with {@code remote = true}: the descriptor for the peer. */
    RdmaBufferDescriptor remoteDescriptor();
}
