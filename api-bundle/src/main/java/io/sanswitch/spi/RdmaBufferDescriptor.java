package io.sanswitch.spi;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The descriptor {@code registerRdmaMemory} writes: opaque bytes that the switch sends to the
 * connected peer in a control message, and that the peer hands to {@code rdmaWrite} or
 * {@code rdmaRead} (spec 2.3, 6.7). Only the backend that made it can read it. Two descriptors are
 * equal when their bytes are.
 */
public final class RdmaBufferDescriptor {
    private final byte[] bytes;

    private RdmaBufferDescriptor(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A descriptor from its wire bytes (copied). */
    public static RdmaBufferDescriptor of(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("a descriptor has at least one byte");
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
