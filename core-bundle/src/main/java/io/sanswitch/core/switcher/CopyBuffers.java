package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The heap buffers that bytes waiting for an application are copied to ({@link InboundBuffer}), shared
 * by a switch's connections and reused once taken, up to a bound (docs/rules.md SW-credit): a stream
 * that runs ahead of its application makes no garbage, whichever connection's backlog grows and
 * shrinks. Any thread.
 */
final class CopyBuffers {
    /** One buffer: a DATA frame's payload fits. */
    static final int BYTES = Frames.MAX_FRAME;
    /** A switch's bound: 16 MiB kept at most, two connections' backlogs at the high water. */
    static final int SWITCH_KEPT = 128;

    private final int bound;
    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger kept = new AtomicInteger();

    /** @param bound the most buffers kept for reuse */
    CopyBuffers(int bound) {
        this.bound = bound;
    }

    /** A cleared buffer of {@link #BYTES}: a kept one, else a new one. */
    ByteBuffer take() {
        ByteBuffer b = free.poll();
        if (b == null) {
            return ByteBuffer.allocate(BYTES);
        }
        kept.decrementAndGet();
        return b.clear();
    }

    /** {@code b} (from {@link #take}) is no longer used: kept for the next, or left to the collector past the bound. */
    void give(ByteBuffer b) {
        if (b.capacity() != BYTES) {
            return;
        }
        if (kept.incrementAndGet() <= bound) {
            free.add(b);
        } else {
            kept.decrementAndGet();
        }
    }

    /** Buffers kept for reuse now. */
    int kept() {
        return kept.get();
    }
}
