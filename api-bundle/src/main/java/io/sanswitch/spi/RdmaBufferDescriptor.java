package io.sanswitch.spi;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The descriptor {@code registerRdmaMemory} writes: opaque bytes that the switch sends to the
 * connected peer in a control message, and that the peer hands to {@code rdmaWrite} or
 * {@code rdmaRead} (docs/rules.md RD-extensions, BG-rdma-flows). Only the backend that made it can read it. Two descriptors are
 * equal when their bytes are.
 *
 * <p>A descriptor is at most {@link #MAX_BYTES} long: descriptors come from the peer, so the bound
 * is what keeps a hostile one from making its reader allocate without limit.
 */
public final class RdmaBufferDescriptor {
    /**
     * The longest descriptor (bytes). Room for a backend's address, length and access plus a packed
     * remote key (UCX packs one in well under 1 KiB per memory domain); the switch's frames carry
     * descriptors of up to this length.
     *
     * @since 1.1
     */
    public static final int MAX_BYTES = 4096;

    private final byte[] bytes;

    private RdmaBufferDescriptor(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * A descriptor from its wire bytes (copied).
     *
     * @throws IllegalArgumentException no bytes, or more than {@link #MAX_BYTES}
     */
    public static RdmaBufferDescriptor of(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("a descriptor has at least one byte");
        }
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("a descriptor of " + bytes.length + " bytes (at most " + MAX_BYTES + ")");
        }
        return new RdmaBufferDescriptor(bytes.clone());
    }

    /** The wire bytes (a copy). */
    public byte[] toBytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RdmaBufferDescriptor d && Arrays.equals(bytes, d.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "RdmaBufferDescriptor[" + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 16))
                + (bytes.length > 16 ? "…" : "") + "]";
    }
}
