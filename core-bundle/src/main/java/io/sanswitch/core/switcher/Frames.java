package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;

/**
 * The switch's session protocol on RDMA providers (spec 6.4, 6.6, 6.7). Over a TCP provider the
 * switch never frames: the wire carries the application's bytes (DESIGN 3). Over an RDMA provider the
 * stream carries frames, big-endian:
 *
 * <pre>
 * HELLO        5 | version:1 | flags:1 (bit 0: "I read your large blocks with RDMA read")   first frame each way
 * DATA         1 | length:4 | payload                                                      small data (<= threshold)
 * BLOCK        2 | id:4 | length:4 | dlen:2 | descriptor     read flow: the sender exposed the block (MEM_READ);
 * DONE         3 | id:4                                      receiver RDMA-reads it, then says DONE
 * WRITE_REQ    6 | id:4 | length:4                           write flow: the sender has a block;
 * WRITE_TARGET 7 | id:4 | dlen:2 | descriptor                the receiver exposes a target (MEM_WRITE);
 * WRITE_DONE   8 | id:4                                      the sender RDMA-wrote it
 * RESET        9                                             abortive close: the peer fails with WSAECONNRESET
 * </pre>
 *
 * Data, BLOCK and WRITE_REQ frames are delivered in stream order; the others concern the opposite
 * direction and may overtake data. The end of the stream is the provider's own (a receive of 0
 * bytes after closeSocket, spec 6.9).
 */
final class Frames {
    private Frames() {
    }

    static final byte DATA = 1;
    static final byte BLOCK = 2;
    static final byte DONE = 3;
    static final byte HELLO = 5;
    static final byte WRITE_REQ = 6;
    static final byte WRITE_TARGET = 7;
    static final byte WRITE_DONE = 8;
    static final byte RESET = 9;

    static final byte VERSION = 1;
    static final int FLAG_READS_BLOCKS = 1;
    static final int DATA_HEADER = 5;
    static final int BLOCK_HEADER = 11;
    static final int WRITE_REQ_LENGTH = 9;
    /** Room kept for one BLOCK or WRITE_REQ frame; descriptors longer than this are refused. */
    static final int MAX_DESCRIPTOR = 4096;

    static ByteBuffer hello(boolean readsBlocks) {
        return ByteBuffer.allocate(3).put(HELLO).put(VERSION).put((byte) (readsBlocks ? FLAG_READS_BLOCKS : 0)).flip();
    }

    static ByteBuffer idFrame(byte type, int id) {
        return ByteBuffer.allocate(5).put(type).putInt(id).flip();
    }

    static ByteBuffer writeTarget(int id, byte[] descriptor) {
        return ByteBuffer.allocate(7 + descriptor.length).put(WRITE_TARGET).putInt(id)
                .putShort((short) descriptor.length).put(descriptor).flip();
    }

    static ByteBuffer reset() {
        return ByteBuffer.allocate(1).put(RESET).flip();
    }

    /**
     * The length of the complete frame at {@code in}'s position, or -1 when more bytes are needed.
     *
     * @throws IllegalArgumentException for a frame type this protocol does not have
     */
    static int frameLength(ByteBuffer in) {
        int p = in.position();
        int have = in.remaining();
        if (have < 1) {
            return -1;
        }
        byte type = in.get(p);
        return switch (type) {
            case DATA -> have < DATA_HEADER ? -1 : complete(have, DATA_HEADER + in.getInt(p + 1));
            case BLOCK -> have < BLOCK_HEADER ? -1 : complete(have, BLOCK_HEADER + Short.toUnsignedInt(in.getShort(p + 9)));
            case DONE, WRITE_DONE -> complete(have, 5);
            case HELLO -> complete(have, 3);
            case WRITE_REQ -> complete(have, WRITE_REQ_LENGTH);
            case WRITE_TARGET -> have < 7 ? -1 : complete(have, 7 + Short.toUnsignedInt(in.getShort(p + 5)));
            case RESET -> 1;
            default -> throw new IllegalArgumentException("unknown frame type " + type);
        };
    }

    private static int complete(int have, int length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative frame length");
        }
        return have >= length ? length : -1;
    }
}
