package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Received bytes waiting for the application, in stream order, and the end of the stream after
 * them. A large block takes its place in the order when it is announced ({@link #reserve}) and is
 * {@link #fill filled} once it has moved; until then it holds back everything after it.
 *
 * <p>Only bytes that arrived count towards {@link #full()}: a block still moving does not, since the
 * write flow needs the peer's WRITE_DONE, which only a posted receive can take. Owned by the
 * connection's queue.
 */
final class InboundBuffer {
    /** One piece of the stream; {@code data} is null while its block is still moving. */
    static final class Chunk {
        private ByteBuffer data;
        /**
         * Runs once the application has taken every byte of a block (its buffer may be reused); for a
         * {@link #lend lent} place, once it is the stream's next: it completes the receive.
         */
        private Runnable taken;
        /** The place of a block read straight into an application's receive: no bytes wait here. */
        private boolean lent;
        /** {@code data} is a copy this buffer made ({@link #add}): more may be appended, and it is reused once taken. */
        private boolean copy;
        /** A lent place whose read is done: fails its receive if the connection ends before it is next. */
        private Runnable abandoned;
    }

    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);
    /**
     * The size of the buffers copies go to: a DATA frame's payload fits one. Small pieces are appended
     * to the last copy while it has room, so what waits costs about its bytes however the peer cut it
     * (docs/security.md SEC-2: no allocation per piece a peer chooses).
     */
    static final int COPY_BYTES = SharedBuffers.COPY_BYTES;
    /** Copy buffers kept for reuse by a buffer that has no switch's to share (a test's). */
    static final int COPIES_KEPT = 4;

    private final long highWater;
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    /** Where copies come from and go back to once taken or dropped (a switch's, shared). */
    private final SharedBuffers copies;
    private long buffered;
    private boolean peerClosed;

    /** @param highWater bytes waiting above which {@link #full()} (the switch stops receiving) */
    InboundBuffer(long highWater) {
        this(highWater, new SharedBuffers(COPY_BYTES, false, COPIES_KEPT));
    }

    /** @param copies the copy buffers to take from and give back (the switch's, shared by its connections) */
    InboundBuffer(long highWater, SharedBuffers copies) {
        this.highWater = highWater;
        this.copies = copies;
    }

    /**
     * Appends a copy of {@code bytes}' remaining bytes (the receive buffer is reused): into the room
     * the last copy has left, then into copy buffers of {@link #COPY_BYTES}, however large or small
     * the pieces come.
     */
    void add(ByteBuffer bytes) {
        buffered += bytes.remaining();
        Chunk last = chunks.peekLast();
        while (bytes.hasRemaining()) {
            if (last == null || !last.copy || last.data.limit() == last.data.capacity()) {
                last = new Chunk();
                last.data = copies.take().flip(); // empty, the whole buffer to append to
                last.copy = true;
                chunks.add(last);
            }
            int at = last.data.limit();
            int n = Math.min(bytes.remaining(), last.data.capacity() - at);
            last.data.limit(at + n);
            last.data.put(at, bytes, bytes.position(), n);
            bytes.position(bytes.position() + n);
        }
    }

    /** Pieces waiting (copies, blocks and places), for tests. */
    int chunkCount() {
        return chunks.size();
    }

    /** Copy buffers kept for reuse, for tests. */
    int freeCopies() {
        return copies.kept();
    }

    /** Nothing waits, not even a block still moving: bytes arriving now are next in the stream. */
    boolean isEmpty() {
        return chunks.isEmpty();
    }

    /** Takes the place of a block that is still moving. */
    Chunk reserve() {
        Chunk c = new Chunk();
        chunks.add(c);
        return c;
    }

    /**
     * Takes the place of a block that is read straight into an application's receive. Such places
     * do not hold back the next block from being lent too ({@link #onlyLent}): several blocks move
     * into several receives at once, as the provider's own large receives would (issue 12).
     */
    Chunk lend() {
        Chunk c = reserve();
        c.lent = true;
        return c;
    }

    /**
     * Nothing waits but blocks lent to receives: the next block's bytes are the next receive's, which
     * no lent receive before it takes any of.
     */
    boolean onlyLent() {
        for (Chunk c : chunks) {
            if (!c.lent) {
                return false;
            }
        }
        return true;
    }

    /**
     * The block of a {@link #lend lent} place is in its receive; {@code complete} completes that
     * receive once every place before it is done, so receives complete in stream order whatever order
     * the provider finished the reads in. If the buffer is {@link #clear cleared} first, {@code abandoned}
     * runs instead.
     */
    void lentRead(Chunk place, Runnable complete, Runnable abandoned) {
        place.data = NOTHING;
        place.taken = complete;
        place.abandoned = abandoned;
        for (Chunk c = chunks.peek(); c != null && c.lent && c.data != null; c = chunks.peek()) {
            chunks.poll();
            c.taken.run();
        }
    }

    /** The block of {@code place} arrived: its bytes are {@code block}'s remaining ones. */
    void fill(Chunk place, ByteBuffer block) {
        fill(place, block, null);
    }

    /** As {@link #fill(Chunk, ByteBuffer)}; {@code taken} runs once the application took its last byte. */
    void fill(Chunk place, ByteBuffer block, Runnable taken) {
        place.data = block;
        place.taken = taken;
        buffered += block.remaining();
    }

    /** The peer closed its side: after the bytes waiting, the stream ends. */
    void peerClosed() {
        peerClosed = true;
    }

    boolean isPeerClosed() {
        return peerClosed;
    }

    /** Enough waits that the switch posts no further receive until the application takes some. */
    boolean full() {
        return buffered >= highWater;
    }

    /** Bytes that arrived and wait for the application. */
    long buffered() {
        return buffered;
    }

    /**
     * Moves waiting bytes into {@code into} (which has room).
     *
     * @return the bytes moved; -1 at the end of the stream; 0 if nothing can be taken yet (nothing
     *     waits, or the next bytes are a block still moving)
     */
    int take(ByteBuffer into) {
        Chunk c = chunks.peek();
        while (c != null && c.data != null && !c.data.hasRemaining()) {
            // A place whose block went straight into an application's receive: nothing to take.
            chunks.poll();
            c = chunks.peek();
        }
        if (c == null) {
            return peerClosed ? -1 : 0;
        }
        if (c.data == null) {
            return 0;
        }
        int n = Math.min(c.data.remaining(), into.remaining());
        ByteBuffer part = c.data.duplicate();
        part.limit(part.position() + n);
        into.put(part);
        c.data.position(c.data.position() + n);
        if (!c.data.hasRemaining()) {
            chunks.poll();
            if (c.taken != null) {
                c.taken.run();
            }
            if (c.copy) {
                copies.give(c.data);
            }
        }
        buffered -= n;
        return n;
    }

    /**
     * The connection moves (docs/migration.md section 4): from the first block still moving on, what
     * waits is dropped, since the peer sends it again; the bytes before it stay for the application.
     * A lent place is dropped too: its receive waits for its read, fenced ({@link BlockLoans}), and
     * gets the block again.
     */
    void dropFromFirstMissing() {
        boolean dropping = false;
        for (Iterator<Chunk> i = chunks.iterator(); i.hasNext();) {
            Chunk c = i.next();
            dropping |= c.data == null;
            if (dropping) {
                if (c.data != null) {
                    buffered -= c.data.remaining();
                }
                if (c.copy) {
                    copies.give(c.data);
                }
                i.remove();
            }
        }
    }

    /** For a diagnosis, from any thread: what waits (may be a moment old). */
    @Override
    public String toString() {
        try {
            Chunk head = chunks.peek();
            String h = head == null ? "none" : head.data == null ? "missing" + (head.lent ? " (lent)" : "")
                    : head.data.remaining() + " bytes" + (head.taken != null ? " of a block" : "");
            return "inbound[" + chunks.size() + " chunks, buffered " + buffered + ", head " + h + (peerClosed ? ", peer closed" : "") + "]";
        } catch (RuntimeException racing) {
            return "inbound[changing]";
        }
    }

    /** The connection ended: what waits is dropped; the receives of lent blocks that were read are abandoned. */
    void clear() {
        Chunk[] dropped = chunks.toArray(new Chunk[0]);
        chunks.clear();
        buffered = 0;
        for (Chunk c : dropped) {
            if (c.abandoned != null) {
                c.abandoned.run();
            }
            if (c.copy) {
                copies.give(c.data);
            }
        }
    }
}
