package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;

/**
 * Reads a moved session's frames off its resume socket as its bytes arrive (docs/migration.md
 * section 4): DATA, ACK, RETURN and MOVE (section 6) and RESET only. DATA is handed on as the receives bring it, without waiting
 * for a frame to be whole: nothing of it waits here, only a frame's header (at most
 * {@link Frames#ACK_LENGTH} bytes) that a receive cut. The DATA of one receive is handed on in one
 * piece where its buffer is writable: its payloads are moved together over the headers between them
 * (in place), so the application gets a receive's worth at once rather than a frame's. Each header is
 * checked by {@link Frames#decode} (docs/security.md SEC-5: the peer's lengths within their bounds)
 * before its payload is taken; after a violation nothing more is read. Owned by the connection's queue.
 */
final class ResumedFrames {
    /** Where the frames go; each returns whether to go on reading (false: the connection ended). */
    interface Sink {
        /** The next piece of the stream's DATA, valid during the call only. */
        boolean data(ByteBuffer piece);

        boolean ack(long received);

        /** docs/migration.md section 6: the peer's RDMA resume port (0: none now). */
        boolean returnPort(int port);

        /** docs/migration.md section 6: the peer leaves this socket to move the session back to RDMA. */
        void peerMoves();

        void reset();

        void violation(String reason);
    }

    private final ByteBuffer header = ByteBuffer.allocate(Frames.ACK_LENGTH);
    /** The payload bytes of the current DATA frame not yet read. */
    private int dataLeft;
    private boolean broken;
    /** The DATA read from the buffer being read and not yet handed on: its bytes [runStart, runEnd) there. */
    private int runStart;
    private int runEnd;

    /**
     * Reads every byte of {@code bytes} (its position moves to its limit) unless the sink stops, a
     * frame breaks the protocol or the peer reset. Where {@code bytes} has an accessible array its
     * bytes are rearranged.
     *
     * @return whether to go on
     */
    boolean read(ByteBuffer bytes, Sink sink) {
        runStart = runEnd = bytes.position();
        boolean goesOn = readFrames(bytes, sink);
        return goesOn && handOn(bytes, sink);
    }

    private boolean readFrames(ByteBuffer bytes, Sink sink) {
        while (bytes.hasRemaining() && !broken) {
            if (dataLeft > 0) {
                int n = Math.min(dataLeft, bytes.remaining());
                int at = bytes.position();
                bytes.position(at + n);
                dataLeft -= n;
                if (runEnd == at) {
                    runEnd += n;
                } else if (runStart == runEnd) {
                    runStart = at;
                    runEnd = at + n;
                } else if (bytes.hasArray()) {
                    // Over the headers read since: they are behind what is read, nothing unread is overwritten.
                    System.arraycopy(bytes.array(), bytes.arrayOffset() + at, bytes.array(), bytes.arrayOffset() + runEnd, n);
                    runEnd += n;
                } else {
                    if (!handOn(bytes, sink)) {
                        return false;
                    }
                    runStart = at;
                    runEnd = at + n;
                }
                continue;
            }
            byte type = header.position() > 0 ? header.get(0) : bytes.get(bytes.position());
            int need = type == Frames.DATA ? Frames.DATA_HEADER : type == Frames.ACK ? Frames.ACK_LENGTH
                    : type == Frames.RETURN ? Frames.RETURN_LENGTH : 1;
            int n = Math.min(need - header.position(), bytes.remaining());
            header.put(header.position(), bytes, bytes.position(), n).position(header.position() + n);
            bytes.position(bytes.position() + n);
            if (header.position() < need) {
                return true;
            }
            header.flip();
            Frames.Decoded d = Frames.decode(header);
            int length = type == Frames.DATA ? header.getInt(1) : 0;
            header.clear();
            if (d instanceof Frames.Violation v) {
                return fail(sink, v.reason());
            } else if (type == Frames.DATA) {
                dataLeft = length; // within 1..MAX_DATA: decode checked it, it needs the payload now
            } else if (d instanceof Frame.Ack a) {
                // The DATA before it goes first: the sink sees the frames in their order.
                if (!handOn(bytes, sink) || !sink.ack(a.received())) {
                    return false;
                }
            } else if (d instanceof Frame.Return r) {
                if (!handOn(bytes, sink) || !sink.returnPort(r.port())) {
                    return false;
                }
            } else if (d instanceof Frame.Move) {
                broken = true; // nothing of the stream follows it
                if (handOn(bytes, sink)) {
                    sink.peerMoves();
                }
                return false;
            } else if (d instanceof Frame.Reset) {
                broken = true;
                sink.reset();
                return false;
            } else {
                // docs/migration.md section 4: no blocks, no second HELLO or SESSION over TCP.
                return fail(sink, name(type) + " on a moved session");
            }
        }
        return !broken;
    }

    /** Hands on the DATA read and not yet handed on; nothing more is in the run. */
    private boolean handOn(ByteBuffer bytes, Sink sink) {
        if (runEnd == runStart) {
            return true;
        }
        ByteBuffer piece = bytes.duplicate();
        piece.limit(runEnd).position(runStart);
        runStart = runEnd = bytes.position();
        return sink.data(piece);
    }

    private boolean fail(ResumedFrames.Sink sink, String reason) {
        broken = true;
        sink.violation(reason);
        return false;
    }

    private static String name(byte type) {
        return switch (type) {
            case Frames.HELLO -> "HELLO";
            case Frames.BLOCK -> "BLOCK";
            case Frames.DONE -> "DONE";
            case Frames.WRITE_REQ -> "WRITE_REQ";
            case Frames.WRITE_TARGET -> "WRITE_TARGET";
            case Frames.WRITE_DONE -> "WRITE_DONE";
            case Frames.SESSION -> "SESSION";
            default -> "frame type " + type;
        };
    }
}
