package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * One frame of the switch's session protocol (layouts in {@link Frames}). Each frame writes itself;
 * {@link Frames#decode} reads them, within the protocol's bounds.
 */
sealed interface Frame extends Frames.Decoded {

    /** The frame's length on the wire. */
    int size();

    /** Writes the frame at {@code out}'s position; {@code out} has at least {@link #size()} bytes left. */
    void writeTo(ByteBuffer out);

    /** The bytes a receiver allocates for this frame's data (a DATA copy, a block's target); 0 for control. */
    default long allocation() {
        return 0;
    }

    /**
     * First frame each way: the protocol version, whether its sender reads large blocks by RDMA read,
     * whether it migrates (docs/migration.md) and whether it grants and keeps to credits (docs/rules.md SW-credit).
     */
    record Hello(boolean readsBlocks, boolean migrates, boolean credits) implements Frame {
        Hello(boolean readsBlocks) {
            this(readsBlocks, false);
        }

        Hello(boolean readsBlocks, boolean migrates) {
            this(readsBlocks, migrates, false);
        }

        @Override
        public int size() {
            return Frames.HELLO_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            int flags = (readsBlocks ? Frames.FLAG_READS_BLOCKS : 0) | (migrates ? Frames.FLAG_MIGRATES : 0)
                    | (credits ? Frames.FLAG_CREDITS : 0);
            out.put(Frames.HELLO).put(Frames.VERSION).put((byte) flags);
        }
    }

    /** Small data; {@code payload} is a view (for a decoded frame: into the decoder's input). */
    record Data(ByteBuffer payload) implements Frame {
        @Override
        public int size() {
            return Frames.DATA_HEADER + payload.remaining();
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.DATA).putInt(payload.remaining()).put(payload.duplicate());
        }

        @Override
        public long allocation() {
            return payload.remaining();
        }
    }

    /** Read flow: the sender exposed block {@code id} of {@code length} bytes for RDMA read. */
    record Block(int id, int length, RdmaBufferDescriptor descriptor) implements Frame {
        @Override
        public int size() {
            return Frames.BLOCK_HEADER + descriptor.length();
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.BLOCK).putInt(id).putInt(length).putShort((short) descriptor.length()).put(descriptor.toBytes());
        }

        @Override
        public long allocation() {
            return length;
        }
    }

    /** Read flow: the receiver has read block {@code id}. */
    record Done(int id) implements Frame {
        @Override
        public int size() {
            return Frames.ID_FRAME_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.DONE).putInt(id);
        }
    }

    /** Write flow: the sender has block {@code id} of {@code length} bytes and asks for a target. */
    record WriteReq(int id, int length) implements Frame {
        @Override
        public int size() {
            return Frames.WRITE_REQ_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.WRITE_REQ).putInt(id).putInt(length);
        }

        @Override
        public long allocation() {
            return length;
        }
    }

    /** Write flow: the receiver exposed a target for block {@code id}. */
    record WriteTarget(int id, RdmaBufferDescriptor descriptor) implements Frame {
        @Override
        public int size() {
            return Frames.WRITE_TARGET_HEADER + descriptor.length();
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.WRITE_TARGET).putInt(id).putShort((short) descriptor.length()).put(descriptor.toBytes());
        }
    }

    /** Write flow: the sender wrote block {@code id} into the target. */
    record WriteDone(int id) implements Frame {
        @Override
        public int size() {
            return Frames.ID_FRAME_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.WRITE_DONE).putInt(id);
        }
    }

    /** Abortive close: the receiver fails the connection with WSAECONNRESET. */
    record Reset() implements Frame {
        @Override
        public int size() {
            return 1;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.RESET);
        }
    }

    /**
     * Right after the HELLOs when both migrate (docs/migration.md section 2): the session's id (the
     * connector's choice, repeated by the acceptor), its sender's secret and resume port.
     */
    record Session(byte[] id, byte[] secret, int resumePort) implements Frame {
        @Override
        public int size() {
            return Frames.SESSION_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.SESSION).put(id).put(secret).putShort((short) resumePort);
        }

        // By content: the arrays are the frame's bytes.
        @Override
        public boolean equals(Object o) {
            return o instanceof Session s && java.util.Arrays.equals(id, s.id) && java.util.Arrays.equals(secret, s.secret)
                    && resumePort == s.resumePort;
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(id) * 31 + resumePort;
        }

        @Override
        public String toString() {
            return "Session[resumePort=" + resumePort + "]"; // never the secret in a log line
        }
    }

    /** The application's bytes its sender has received so far (docs/migration.md section 5). */
    record Ack(long received) implements Frame {
        @Override
        public int size() {
            return Frames.ACK_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.ACK).putLong(received);
        }
    }

    /** The receiver's application consumed {@code bytes} more of the stream: the sender may send that much more (docs/rules.md SW-credit). */
    record Credit(int bytes) implements Frame {
        @Override
        public int size() {
            return Frames.CREDIT_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.CREDIT).putInt(bytes);
        }
    }

    /** docs/migration.md section 6: the acceptor's RDMA resume port for a move back; 0: none now. */
    record Return(int port) implements Frame {
        @Override
        public int size() {
            return Frames.RETURN_LENGTH;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.RETURN).putShort((short) port);
        }
    }

    /** docs/migration.md section 6: the connector leaves the resume socket for RDMA; nothing follows. */
    record Move() implements Frame {
        @Override
        public int size() {
            return 1;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(Frames.MOVE);
        }
    }
}
