package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Buffers of one size shared by a switch's connections and reused once given back, up to a bound:
 * traffic that comes and goes (a backlog that grows and shrinks, a session that moves) makes no
 * garbage, and, for direct buffers, allocates and zeroes no native memory each time. Any thread.
 */
final class SharedBuffers {
    /** A copy's size: a DATA frame's payload fits. */
    static final int COPY_BYTES = Frames.MAX_FRAME;
    /**
     * The copies of bytes waiting for an application ({@link InboundBuffer}, docs/rules.md SW-credit): 16
     * MiB kept at most, two connections' backlogs at the high water.
     */
    static final int COPIES_KEPT = 128;
    /**
     * The batches of moved sessions' sends ({@link ResumedSends}, docs/rules.md SW-migrate-buffers): 16 MiB
     * of native memory kept at most, four sessions with every batch in flight.
     */
    static final int BATCHES_KEPT = 16;

    private final int bytes;
    private final boolean direct;
    private final int bound;
    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger kept = new AtomicInteger();

    /**
     * @param bytes each buffer's capacity
     * @param direct direct buffers, else heap ones
     * @param bound the most buffers kept for reuse
     */
    SharedBuffers(int bytes, boolean direct, int bound) {
        this.bytes = bytes;
        this.direct = direct;
        this.bound = bound;
    }

    /** A switch's copies: heap buffers of {@link #COPY_BYTES}, at most {@link #COPIES_KEPT} kept. */
    static SharedBuffers copies() {
        return new SharedBuffers(COPY_BYTES, false, COPIES_KEPT);
    }

    /** A switch's send batches: direct buffers of {@link ResumedSends#BATCH_BYTES}, at most {@link #BATCHES_KEPT} kept. */
    static SharedBuffers batches() {
        return new SharedBuffers(ResumedSends.BATCH_BYTES, true, BATCHES_KEPT);
    }

    /** A cleared buffer of {@link #bytes()}: a kept one, else a new one. */
    ByteBuffer take() {
        ByteBuffer b = free.poll();
        if (b == null) {
            return direct ? ByteBuffer.allocateDirect(bytes) : ByteBuffer.allocate(bytes);
        }
        kept.decrementAndGet();
        return b.clear();
    }

    /**
     * {@code b} (from {@link #take}) is no longer used, by anyone (no provider's operation holds it):
     * kept for the next, or left to the collector past the bound.
     */
    void give(ByteBuffer b) {
        if (b.capacity() != bytes || b.isDirect() != direct) {
            return;
        }
        if (kept.incrementAndGet() <= bound) {
            free.add(b);
        } else {
            kept.decrementAndGet();
        }
    }

    /** Each buffer's capacity. */
    int bytes() {
        return bytes;
    }

    /** Buffers kept for reuse now. */
    int kept() {
        return kept.get();
    }
}
