package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What this side of a migratable connection framed and the peer has not acknowledged, in the
 * order of the stream (docs/migration.md section 5, docs/rules.md SW-migrate-exactly-once): DATA
 * payloads as copies in a ring of {@value #CHUNK}-byte chunks (taken as the bytes come, kept for
 * reuse once acknowledged), blocks by reference to the memory they went from, which goes back to
 * its owner (pool, cache) only once acknowledged. Bounded by {@code capacity} bytes: a sender asks
 * {@link #room} first, and a full retention holds the next sends back until an ACK frees some.
 * Offsets count the application's bytes this side sent on the connection, from 0. Owned by the
 * connection's queue; {@link #held} may be read from any thread.
 */
final class Retention {
    /**
     * Bytes per chunk of the ring. A ring of one array grown by doubling allocated arrays of up to the
     * bound (16 MiB) at a session's first move, which G1 places as humongous objects (collections
     * with that cause in a traced first cycle of {@code MigrationCyclesIT}). A chunk is below every
     * G1 region's humongous size (half of 1 MiB at least), and a growing ring copies nothing.
     * Acknowledged chunks are kept for the tail, not given up: the retention fills during a move's
     * pause, and chunks taken anew each time would be live young objects that a collection in that
     * pause copies.
     */
    static final int CHUNK = 64 * 1024;

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
    /** The ring: chunk i holds the sequence offsets from {@code chunksStart + i * CHUNK} on. */
    private final List<byte[]> chunks = new ArrayList<>();
    private final ArrayDeque<byte[]> spares = new ArrayDeque<>();
    private long chunksStart;
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
        long at = ringTail;
        for (int copied = 0; copied < n;) {
            long index = (ringTail - chunksStart) / CHUNK;
            if (index == chunks.size()) {
                byte[] spare = spares.poll();
                chunks.add(spare != null ? spare : new byte[CHUNK]);
            }
            int in = (int) ((ringTail - chunksStart) % CHUNK);
            int k = Math.min(n - copied, CHUNK - in);
            payload.get(payload.position() + copied, chunks.get((int) index), in, k);
            copied += k;
            ringTail += k;
        }
        segments.add(new Segment(sent, n, at, null, null));
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
        while (ringHead - chunksStart >= CHUNK) {
            spares.push(chunks.remove(0));
            chunksStart += CHUNK;
        }
        held = sent - acknowledged;
        return null;
    }

    /** The heap the ring holds now, spares included. */
    long ringBytes() {
        return (long) (chunks.size() + spares.size()) * CHUNK;
    }

    /**
     * Hands the bytes kept from stream offset {@code from} to {@code out}, in order, as read-only
     * buffers (a segment's bytes in one per chunk it spans); what a resume sends again.
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
                for (long at = s.ringAt + skip, end = at + n; at < end;) {
                    int in = (int) ((at - chunksStart) % CHUNK);
                    int k = (int) Math.min(end - at, CHUNK - in);
                    out.accept(ByteBuffer.wrap(chunks.get((int) ((at - chunksStart) / CHUNK)), in, k).slice()
                            .asReadOnlyBuffer());
                    at += k;
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
        chunks.clear();
        spares.clear();
        ringHead = ringTail;
        chunksStart = ringTail;
        acknowledged = sent;
        held = 0;
    }
}
