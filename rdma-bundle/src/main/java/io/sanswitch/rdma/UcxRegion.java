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
 * the buffer's address, length and access, then UCX's packed remote key
 * ({@link Descriptor}). The peer can reach it only through the endpoint of this connection and
 * only while it is mapped.
 */
final class UcxRegion implements TransportRegion {
    final ByteBuffer buffer;
    final UcpMemory memory;
    final RdmaBufferDescriptor descriptor;

    UcxRegion(ByteBuffer buffer, UcpMemory memory, int access, boolean remote) {
        this.buffer = buffer;
        this.memory = memory;
        this.descriptor = remote ? Descriptor.encode(memory.getAddress(), memory.getLength(), access, memory.getRemoteKeyBuffer()) : null;
    }

    @Override
    public ByteBuffer buffer() {
        return buffer;
    }

    @Override
    public RdmaBufferDescriptor remoteDescriptor() {
        return descriptor;
    }

    /** The wire form of an RDMA buffer descriptor of this backend. */
    record Descriptor(long address, long length, int access, ByteBuffer packedKey) {
        static final int MAGIC = 0x55435831; // "UCX1"
        static final int HEADER = 4 + 8 + 8 + 4;

        static RdmaBufferDescriptor encode(long address, long length, int access, ByteBuffer packedKey) {
            ByteBuffer key = packedKey.duplicate();
            ByteBuffer out = ByteBuffer.allocate(HEADER + key.remaining()).order(ByteOrder.BIG_ENDIAN);
            out.putInt(MAGIC).putLong(address).putLong(length).putInt(access).put(key);
            return RdmaBufferDescriptor.of(out.array());
        }

        /**
         * @throws WsaException {@code WSAEINVAL}: not a descriptor of this backend, or its
         *         packed remote key is not laid out as UCX packs one ({@link PackedRemoteKey})
         */
        static Descriptor decode(RdmaBufferDescriptor d) throws WsaException {
            byte[] bytes = d.toBytes();
            if (bytes.length <= HEADER) {
                throw new WsaException(WsaError.WSAEINVAL, "not a UCX buffer descriptor (" + bytes.length + " bytes)");
            }
            ByteBuffer in = ByteBuffer.wrap(bytes);
            if (in.getInt() != MAGIC) {
                throw new WsaException(WsaError.WSAEINVAL, "not a UCX buffer descriptor");
            }
            long address = in.getLong();
            long length = in.getLong();
            int access = in.getInt();
            if (length <= 0 || access < 1 || access > 3) {
                throw new WsaException(WsaError.WSAEINVAL, "corrupt UCX buffer descriptor");
            }
            byte[] packed = new byte[in.remaining()];
            in.get(packed);
            String problem = PackedRemoteKey.problem(packed);
            if (problem != null) {
                throw new WsaException(WsaError.WSAEINVAL, "corrupt UCX buffer descriptor: " + problem);
            }
            ByteBuffer key = ByteBuffer.allocateDirect(packed.length).put(packed).flip();
            return new Descriptor(address, length, access, key);
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
