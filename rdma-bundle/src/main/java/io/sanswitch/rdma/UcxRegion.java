package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.openucx.jucx.ucp.UcpMemory;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportRegion;

/**
 * A buffer mapped into UCX ({@code memoryMap}). One exposed to the peer carries a descriptor:
 * its exposure number on the connection, the buffer's address, length and access, UCX's packed
 * remote key, and the connection's seal ({@link Descriptor}). The peer can use it only on this
 * connection and only until its deregistration revokes it (docs/rules.md RD-access).
 */
final class UcxRegion implements TransportRegion {
    final ByteBuffer buffer;
    final UcpMemory memory;
    /** The exposure's number on its connection (1, 2, ...), 0 when not exposed. */
    final long exposure;
    final RdmaBufferDescriptor descriptor;

    UcxRegion(ByteBuffer buffer, UcpMemory memory, int access, long exposure, DescriptorSeal seal) {
        this.buffer = buffer;
        this.memory = memory;
        this.exposure = exposure;
        this.descriptor = seal == null ? null
                : Descriptor.encode(seal, exposure, memory.getAddress(), memory.getLength(), access, memory.getRemoteKeyBuffer());
    }

    @Override
    public ByteBuffer buffer() {
        return buffer;
    }

    @Override
    public RdmaBufferDescriptor remoteDescriptor() {
        return descriptor;
    }

    /**
     * The wire form of an RDMA buffer descriptor of this backend, big-endian:
     * {@code MAGIC:4 | exposure:8 | address:8 | length:8 | access:4 | packed key | seal:16}, the seal
     * ({@link DescriptorSeal}) over everything before it.
     */
    record Descriptor(long exposure, long address, long length, int access, ByteBuffer packedKey) {
        static final int MAGIC = 0x55435832; // "UCX2"
        static final int HEADER = 4 + 8 + 8 + 8 + 4;
        /** The bytes of a descriptor besides its packed key. */
        static final int OVERHEAD = HEADER + DescriptorSeal.BYTES;

        static RdmaBufferDescriptor encode(DescriptorSeal seal, long exposure, long address, long length, int access,
                ByteBuffer packedKey) {
            ByteBuffer key = packedKey.duplicate();
            int body = HEADER + key.remaining();
            ByteBuffer out = ByteBuffer.allocate(body + DescriptorSeal.BYTES).order(ByteOrder.BIG_ENDIAN);
            out.putInt(MAGIC).putLong(exposure).putLong(address).putLong(length).putInt(access).put(key);
            out.put(seal.seal(out.array(), body));
            return RdmaBufferDescriptor.of(out.array());
        }

        /**
         * The descriptor's seal is checked first: nothing else of a descriptor the peer did not make
         * for this connection is read.
         *
         * @param seal the seal of the connection the descriptor is used on
         * @throws WsaException {@code WSAEINVAL}: not a descriptor of this backend, not one the peer
         *         made for this connection, or its packed remote key is not laid out as UCX packs
         *         one ({@link PackedRemoteKey})
         */
        static Descriptor decode(RdmaBufferDescriptor d, DescriptorSeal seal) throws WsaException {
            byte[] bytes = d.toBytes();
            if (bytes.length <= OVERHEAD) {
                throw new WsaException(WsaError.WSAEINVAL, "not a UCX buffer descriptor (" + bytes.length + " bytes)");
            }
            ByteBuffer in = ByteBuffer.wrap(bytes, 0, bytes.length - DescriptorSeal.BYTES);
            if (in.getInt() != MAGIC) {
                throw new WsaException(WsaError.WSAEINVAL, "not a UCX buffer descriptor");
            }
            if (!seal.sealedByPeer(bytes)) {
                throw new WsaException(WsaError.WSAEINVAL,
                        "not a buffer descriptor the peer exposed on this connection (another connection's, or altered)");
            }
            long exposure = in.getLong();
            long address = in.getLong();
            long length = in.getLong();
            int access = in.getInt();
            if (exposure <= 0 || length <= 0 || access < 1 || access > 3) {
                throw new WsaException(WsaError.WSAEINVAL, "corrupt UCX buffer descriptor");
            }
            byte[] packed = new byte[in.remaining()];
            in.get(packed);
            String problem = PackedRemoteKey.problem(packed);
            if (problem != null) {
                throw new WsaException(WsaError.WSAEINVAL, "corrupt UCX buffer descriptor: " + problem);
            }
            ByteBuffer key = ByteBuffer.allocateDirect(packed.length).put(packed).flip();
            return new Descriptor(exposure, address, length, access, key);
        }

        /** @throws WsaException {@code WSAEINVAL}: the range leaves the exposed buffer */
        void checkRange(long offset, long size) throws WsaException {
            if (offset < 0 || size < 0 || offset > length || size > length - offset) {
                throw new WsaException(WsaError.WSAEINVAL, "[" + offset + ", " + (offset + size)
                        + ") lies outside the peer's buffer of " + length + " bytes");
            }
        }
    }
}
