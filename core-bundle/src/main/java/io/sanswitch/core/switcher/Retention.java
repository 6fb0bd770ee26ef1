package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * What this side of a migratable connection framed and the peer has not acknowledged, in the
 * order of the stream (docs/migration.md section 5, docs/rules.md SW-migrate-exactly-once): DATA
 * payloads as copies in one ring of bytes (grown by doubling up to the bound, never per send),
 * blocks by reference to the memory they went from, which goes back to its owner (pool, cache) only
 * once acknowledged. Bounded by {@code capacity} bytes: a sender asks {@link #room} first, and a full
 * retention holds the next sends back until an ACK frees some. Offsets count the application's
 * bytes this side sent on the connection, from 0. Owned by the connection's queue; {@link #held} may
 * be read from any thread.
 */
final class Retention {
    private static final int FIRST_RING = 64 * 1024;

    /** One run of the stream: {@code length} bytes from stream offset {@code start}. */
    private static final class Segment {
        final long start;
        final int length;
        /** DATA: where its bytes begin in the ring's sequence of bytes; -1 for a block. */
        final long ringAt;
        /** A block: its bytes and what gives its memory back; null for DATA. */
        final ByteBuffer block;
        final Runnable release;

        Segment(long start, int length, long ringAt, ByteBuffer block, Runnable release) {
            this.start = start;
            this.length = length;
            this.ringAt = ringAt;
            this.block = block;
            this.release = release;
        }

        long end() {
            return start + length;
        }
    }

    private final int capacity;
    private final ArrayDeque<Segment> segments = new ArrayDeque<>();
    private byte[] ring = new byte[0];
    /** The ring's bytes, as offsets in the sequence of every DATA byte retained: [ringHead, ringTail). */
    private long ringHead;
    private long ringTail;
    private long sent;
    private long acknowledged;
    private volatile long held;

    Retention(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("retention of " + capacity + " bytes");
        }
        this.capacity = capacity;
    }

    /** The stream offset after the last byte framed. */
    long sentOffset() {
        return sent;
    }

    /** The peer's last acknowledgement: the bytes it has received. */
    long acknowledged() {
        return acknowledged;
    }

    /** Bytes kept (sent and not acknowledged); readable from any thread. */
    long held() {
        return held;
    }

    boolean isEmpty() {
        return sent == acknowledged;
    }

    /** Bytes that may still be framed before the retention is full (docs/rules.md SW-migrate-exactly-once: back-pressure). */
    long room() {
        return capacity - (sent - acknowledged);
    }

    /** Keeps a copy of {@code payload}'s remaining bytes (its position does not move); at most {@link #room}. */
    void data(ByteBuffer payload) {
        int n = payload.remaining();
        check(n);
        ensureRing(ringTail - ringHead + n);
        int at = (int) (ringTail % ring.length);
        int first = Math.min(n, ring.length - at);
        payload.get(payload.position(), ring, at, first);
        payload.get(payload.position() + first, ring, 0, n - first);
        segments.add(new Segment(sent, n, ringTail, null, null));
        ringTail += n;
        advance(n);
    }

    /**
     * Keeps a block by reference: {@code bytes} stay unchanged until {@code release} runs, once the
     * peer acknowledged the block's last byte (or the connection ended).
     */
    void block(ByteBuffer bytes, Runnable release) {
        int n = bytes.remaining();
        check(n);
        segments.add(new Segment(sent, n, -1, bytes.slice(), release));
        advance(n);
    }

    private void check(int n) {
        if (n < 1 || n > room()) {
            throw new IllegalStateException(n + " bytes into a retention with room for " + room());
        }
    }

    private void advance(int n) {
        sent += n;
        held = sent - acknowledged;
    }

    private void ensureRing(long need) {
        if (need <= ring.length) {
            return;
        }
        int size = Math.max(FIRST_RING, ring.length);
        while (size < need) {
            size = (int) Math.min((long) size * 2, capacity);
        }
        // The ring's sequence offsets stay; their place in the new array is offset % size. Copied in runs
        // where neither array wraps (at most three): a byte at a time, the first move's growth to the bound
        // held the connection's io thread for tens of milliseconds while its stream was paused.
        byte[] rebased = new byte[size];
        for (long i = ringHead; i < ringTail;) {
            int from = (int) (i % ring.length);
            int to = (int) (i % size);
            int n = (int) Math.min(ringTail - i, Math.min(ring.length - from, size - to));
            System.arraycopy(ring, from, rebased, to, n);
            i += n;
        }
        ring = rebased;
    }

    /**
     * The peer received {@code received} bytes: what they cover is dropped, blocks given back.
     *
     * @return null, or why the value breaks the protocol (docs/security.md SEC-12):
     *     beyond what was sent, or below the last acknowledgement
     */
    String acknowledge(long received) {
        if (received > sent) {
            return "ACK of " + received + " bytes, beyond the " + sent + " sent";
        }
        if (received < acknowledged) {
            return "ACK of " + received + " bytes, below the " + acknowledged + " acknowledged before";
        }
        acknowledged = received;
        while (!segments.isEmpty() && segments.peek().start < received) {
            Segment s = segments.peek();
            if (s.block == null) {
                ringHead = s.ringAt + Math.min(s.length, received - s.start);
            }
            if (s.end() > received) {
                break;
            }
            segments.poll();
            if (s.release != null) {
                s.release.run();
            }
        }
        held = sent - acknowledged;
        return null;
    }

    /**
     * Hands the bytes kept from stream offset {@code from} to {@code out}, in order, as read-only
     * buffers (a segment's bytes in one or two); what a resume sends again.
     *
     * @throws IllegalArgumentException if {@code from} is below what is kept or beyond what was sent
     */
    void replayFrom(long from, Consumer<ByteBuffer> out) {
        if (from < acknowledged || from > sent) {
            throw new IllegalArgumentException("replay from " + from + ": kept are " + acknowledged + ".." + sent);
        }
        for (Segment s : segments) {
            if (s.end() <= from) {
                continue;
            }
            int skip = (int) Math.max(0, from - s.start);
            int n = s.length - skip;
            if (s.block != null) {
                out.accept(s.block.duplicate().position(skip).slice().asReadOnlyBuffer());
            } else {
                long at = s.ringAt + skip;
                int index = (int) (at % ring.length);
                int first = Math.min(n, ring.length - index);
                out.accept(ByteBuffer.wrap(ring, index, first).slice().asReadOnlyBuffer());
                if (first < n) {
                    out.accept(ByteBuffer.wrap(ring, 0, n - first).slice().asReadOnlyBuffer());
                }
            }
        }
    }

    /** The connection ended: every block is given back, nothing is kept. */
    void clear() {
        for (Segment s : segments) {
            if (s.release != null) {
                s.release.run();
            }
        }
        segments.clear();
        ring = new byte[0];
        ringHead = ringTail;
        acknowledged = sent;
        held = 0;
    }
}
