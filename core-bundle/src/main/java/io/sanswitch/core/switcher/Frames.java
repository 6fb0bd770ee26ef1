package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * The switch's session protocol on RDMA providers (docs/rules.md DP-first-message, BG-session, BG-rdma-flows). Over a TCP provider the
 * switch never frames: the wire carries the application's bytes (docs/architecture.md). Over an RDMA provider the
 * stream carries frames, big-endian:
 *
 * <pre>
 * HELLO        5 | version:1 | flags:1 (bit 0: "I read your large blocks with RDMA read",  first frame each way
 *                                        bit 1: "I migrate", docs/migration.md,
 *                                        bit 2: "I grant and keep to credits", CreditWindow)
 * DATA         1 | length:4 | payload                                                      small data (<= threshold)
 * BLOCK        2 | id:4 | length:4 | dlen:2 | descriptor     read flow: the sender exposed the block (MEM_READ);
 * DONE         3 | id:4                                      receiver RDMA-reads it, then says DONE
 * WRITE_REQ    6 | id:4 | length:4                           write flow: the sender has a block;
 * WRITE_TARGET 7 | id:4 | dlen:2 | descriptor                the receiver exposes a target (MEM_WRITE);
 * WRITE_DONE   8 | id:4                                      the sender RDMA-wrote it
 * RESET        9                                             abortive close: the peer fails with WSAECONNRESET
 * SESSION     10 | id:16 | secret:32 | resumePort:2             only when both HELLOs say "I migrate": once each way
 * ACK         11 | received:8                                 the application's bytes received so far (same condition)
 * CREDIT      12 | bytes:4                                    the receiver's application consumed this many more bytes
 *                                                            (1 … the window); only when both HELLOs say "credits"
 * RETURN      13 | port:2                                    a moved session's resume socket only (docs/migration.md 6)
 * MOVE        14                                             the sender leaves the socket, the session moves (same
 *                                                            condition as SESSION; docs/rules.md SW-migrate-early)
 * </pre>
 *
 * Data, BLOCK and WRITE_REQ frames are delivered in stream order; the others concern the opposite
 * direction and may overtake data. The end of the stream is the provider's own (a receive of 0
 * bytes after closeSocket, docs/rules.md BG-close).
 *
 * <p>Every length and id on the wire comes from the peer, so {@link #decode} checks each against its
 * bound before anything is allocated for it: a frame is at most {@link #MAX_FRAME} bytes, a DATA
 * payload 1 … {@link #MAX_DATA}, a block 1 … {@link #MAX_BLOCK}, a descriptor 1 …
 * {@link #MAX_DESCRIPTOR}, an id 1 … {@code Integer.MAX_VALUE}. {@link FramedStream} adds the rules
 * that need the connection's state (HELLO first and once), {@link IncomingBlocks} and
 * {@link OutgoingBlocks} those of the blocks (ids in sequence and known, blocks in flight).
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
    static final byte SESSION = 10;
    static final byte ACK = 11;
    static final byte CREDIT = 12;
    /**
     * On a moved session's resume socket only (docs/migration.md section 6): the acceptor's RDMA resume
     * port, where the connector may move the session back; 0: none now.
     */
    static final byte RETURN = 13;
    /**
     * The sender leaves this socket; nothing of the stream follows it. On a moved session's resume
     * socket (docs/migration.md section 6) the connector's, to move the session back to RDMA: the
     * acceptor parks and closes the socket, which the connector takes as its sign to dial. On an RDMA
     * connection with a session (docs/rules.md SW-migrate-early) either side's, whose provider is
     * withdrawn: the receiver moves too.
     */
    static final byte MOVE = 14;

    static final byte VERSION = 1;
    static final int FLAG_READS_BLOCKS = 1;
    /** HELLO: this side keeps what the peer has not acknowledged and can move the session (docs/migration.md). */
    static final int FLAG_MIGRATES = 2;
    /**
     * HELLO: this side grants a receive window by CREDIT frames and keeps to the peer's (docs/rules.md
     * SW-credit). A switch from before it refuses the bit (unknown flags are a protocol error).
     */
    static final int FLAG_CREDITS = 4;
    static final int SESSION_ID = 16;
    static final int SESSION_SECRET = 32;
    static final int SESSION_LENGTH = 1 + SESSION_ID + SESSION_SECRET + 2;
    static final int ACK_LENGTH = 9;
    static final int CREDIT_LENGTH = 5;
    static final int RETURN_LENGTH = 3;
    static final int HELLO_LENGTH = 3;
    static final int DATA_HEADER = 5;
    static final int BLOCK_HEADER = 11;
    static final int ID_FRAME_LENGTH = 5;
    static final int WRITE_REQ_LENGTH = 9;
    static final int WRITE_TARGET_HEADER = 7;

    /**
     * The longest frame. A sender fills one registered send buffer of this size at a time and never
     * splits a frame across two sends (it starts a frame only when the whole frame fits), so nothing
     * legitimate is longer; it is also the size of both of a connection's registered buffers.
     */
    static final int MAX_FRAME = 128 * 1024;
    /**
     * The longest DATA payload: a DATA frame with its header fills at most one send buffer. The
     * threshold does not raise it (a sender cuts data at the smaller of the two), and the receiver
     * cannot know the sender's threshold anyway.
     */
    static final int MAX_DATA = MAX_FRAME - DATA_HEADER;
    /** The largest block: a sender cuts larger sends into blocks of at most this (and its SO_MAX_RDMA_SIZE). */
    static final int MAX_BLOCK = 16 << 20;
    /** Room kept for one BLOCK or WRITE_TARGET frame; longer descriptors are refused by both sides. */
    static final int MAX_DESCRIPTOR = RdmaBufferDescriptor.MAX_BYTES;
    /**
     * Blocks one direction of a connection may have announced and not yet finished (DONE / WRITE_DONE),
     * by count and by bytes. A sender waits below both; for a receiver each announced block is a
     * registration and up to {@link #MAX_BLOCK} bytes of memory, so above either it is a protocol error.
     * Two full blocks keep the RDMA pipeline busy while the earlier one's DONE travels back.
     */
    static final int MAX_BLOCKS_IN_FLIGHT = 64;
    static final long MAX_BLOCK_BYTES_IN_FLIGHT = 2L * MAX_BLOCK;

    /** What {@link #decode} found at its input's position: a {@link Frame}, {@link NeedMore}, or a {@link Violation}. */
    sealed interface Decoded permits Frame, NeedMore, Violation {
    }

    /** The frame at the position is not complete yet; nothing was consumed. */
    enum NeedMore implements Decoded {
        NEED_MORE
    }

    /** The bytes at the position break the protocol; the stream cannot go on. */
    record Violation(String reason) implements Decoded {
    }

    /**
     * Decodes the frame at {@code in}'s position. A complete frame is returned and consumed (the
     * position moves past it; a DATA payload is a read-only view into {@code in}, valid until
     * {@code in} is changed); otherwise nothing is consumed. Lengths are checked as soon as their
     * header is complete, so a bad one is a violation before its bytes arrive. Never throws for any
     * input, and allocates only a descriptor of at most {@link #MAX_DESCRIPTOR} bytes.
     */
    static Decoded decode(ByteBuffer in) {
        int p = in.position();
        int have = in.remaining();
        if (have < 1) {
            return NeedMore.NEED_MORE;
        }
        byte type = in.get(p);
        switch (type) {
            case HELLO: {
                if (have < HELLO_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                int version = in.get(p + 1);
                int flags = in.get(p + 2);
                if (version != VERSION) {
                    return new Violation("HELLO of protocol version " + version + " (this is " + VERSION + ")");
                }
                if ((flags & ~(FLAG_READS_BLOCKS | FLAG_MIGRATES | FLAG_CREDITS)) != 0) {
                    return new Violation("HELLO with unknown flags 0x" + Integer.toHexString(flags & 0xFF));
                }
                return consumed(in, new Frame.Hello((flags & FLAG_READS_BLOCKS) != 0, (flags & FLAG_MIGRATES) != 0,
                        (flags & FLAG_CREDITS) != 0));
            }
            case DATA: {
                if (have < DATA_HEADER) {
                    return NeedMore.NEED_MORE;
                }
                int length = in.getInt(p + 1);
                if (length < 1 || length > MAX_DATA) {
                    return new Violation("DATA of " + Integer.toUnsignedString(length) + " bytes (1.." + MAX_DATA + ")");
                }
                if (have < DATA_HEADER + length) {
                    return NeedMore.NEED_MORE;
                }
                return consumed(in, new Frame.Data(in.slice(p + DATA_HEADER, length).asReadOnlyBuffer()));
            }
            case BLOCK: {
                if (have < BLOCK_HEADER) {
                    return NeedMore.NEED_MORE;
                }
                int id = in.getInt(p + 1);
                int length = in.getInt(p + 5);
                int dlen = Short.toUnsignedInt(in.getShort(p + 9));
                Violation bad = badId("BLOCK", id);
                if (bad == null) {
                    bad = badBlockLength("BLOCK", length);
                }
                if (bad == null) {
                    bad = badDescriptorLength("BLOCK", dlen);
                }
                if (bad != null) {
                    return bad;
                }
                if (have < BLOCK_HEADER + dlen) {
                    return NeedMore.NEED_MORE;
                }
                return consumed(in, new Frame.Block(id, length, descriptor(in, p + BLOCK_HEADER, dlen)));
            }
            case DONE, WRITE_DONE: {
                if (have < ID_FRAME_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                int id = in.getInt(p + 1);
                String name = type == DONE ? "DONE" : "WRITE_DONE";
                Violation bad = badId(name, id);
                if (bad != null) {
                    return bad;
                }
                return consumed(in, type == DONE ? new Frame.Done(id) : new Frame.WriteDone(id));
            }
            case WRITE_REQ: {
                if (have < WRITE_REQ_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                int id = in.getInt(p + 1);
                int length = in.getInt(p + 5);
                Violation bad = badId("WRITE_REQ", id);
                if (bad == null) {
                    bad = badBlockLength("WRITE_REQ", length);
                }
                return bad != null ? bad : consumed(in, new Frame.WriteReq(id, length));
            }
            case WRITE_TARGET: {
                if (have < WRITE_TARGET_HEADER) {
                    return NeedMore.NEED_MORE;
                }
                int id = in.getInt(p + 1);
                int dlen = Short.toUnsignedInt(in.getShort(p + 5));
                Violation bad = badId("WRITE_TARGET", id);
                if (bad == null) {
                    bad = badDescriptorLength("WRITE_TARGET", dlen);
                }
                if (bad != null) {
                    return bad;
                }
                if (have < WRITE_TARGET_HEADER + dlen) {
                    return NeedMore.NEED_MORE;
                }
                return consumed(in, new Frame.WriteTarget(id, descriptor(in, p + WRITE_TARGET_HEADER, dlen)));
            }
            case RESET:
                return consumed(in, new Frame.Reset());
            case SESSION: {
                // Fixed length: nothing in it is a length, so nothing to bound but the frame itself.
                if (have < SESSION_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                byte[] id = new byte[SESSION_ID];
                byte[] secret = new byte[SESSION_SECRET];
                in.get(p + 1, id);
                in.get(p + 1 + SESSION_ID, secret);
                int port = Short.toUnsignedInt(in.getShort(p + 1 + SESSION_ID + SESSION_SECRET));
                return consumed(in, new Frame.Session(id, secret, port));
            }
            case ACK: {
                if (have < ACK_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                long received = in.getLong(p + 1);
                if (received < 0) {
                    return new Violation("ACK of " + Long.toUnsignedString(received) + " bytes (0.." + Long.MAX_VALUE + ")");
                }
                return consumed(in, new Frame.Ack(received));
            }
            case CREDIT: {
                if (have < CREDIT_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                int bytes = in.getInt(p + 1);
                // docs/security.md SEC-13: a receiver never grants more than its whole window at once.
                if (bytes < 1 || bytes > CreditWindow.WINDOW) {
                    return new Violation("CREDIT of " + Integer.toUnsignedString(bytes) + " bytes (1.." + CreditWindow.WINDOW + ")");
                }
                return consumed(in, new Frame.Credit(bytes));
            }
            case MOVE:
                return consumed(in, new Frame.Move());
            case RETURN: {
                // Fixed length; any port is a port (0: none).
                if (have < RETURN_LENGTH) {
                    return NeedMore.NEED_MORE;
                }
                return consumed(in, new Frame.Return(Short.toUnsignedInt(in.getShort(p + 1))));
            }
            default:
                return new Violation("frame type " + type + " (no such frame)");
        }
    }

    /** The frame in a buffer of its own, ready to send. */
    static ByteBuffer encode(Frame f) {
        ByteBuffer out = ByteBuffer.allocate(f.size());
        f.writeTo(out);
        return out.flip();
    }

    private static Frame consumed(ByteBuffer in, Frame f) {
        in.position(in.position() + f.size());
        return f;
    }

    private static Violation badId(String frame, int id) {
        return id < 1 ? new Violation(frame + " for block id " + id + " (ids are 1.." + Integer.MAX_VALUE + ")") : null;
    }

    private static Violation badBlockLength(String frame, int length) {
        return length < 1 || length > MAX_BLOCK
                ? new Violation(frame + " of " + Integer.toUnsignedString(length) + " bytes (1.." + MAX_BLOCK + ")")
                : null;
    }

    private static Violation badDescriptorLength(String frame, int dlen) {
        return dlen < 1 || dlen > MAX_DESCRIPTOR
                ? new Violation(frame + " with a descriptor of " + dlen + " bytes (1.." + MAX_DESCRIPTOR + ")")
                : null;
    }

    private static RdmaBufferDescriptor descriptor(ByteBuffer in, int at, int length) {
        byte[] d = new byte[length];
        in.get(at, d);
        return RdmaBufferDescriptor.of(d);
    }
}
