package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import io.sanswitch.spi.WsaException;

/**
 * The application's sends of one connection, in order. A send is {@link #taken} into the wire in
 * parts (copied into the send buffer, or as blocks) and completes once every part is
 * {@link #acknowledge acknowledged}: the provider's send completed, or the peer has the block. Owned
 * by the connection's queue.
 */
final class SendQueue {
    /** One application send. */
    static final class Send {
        private final ByteBuffer source;
        private final int start;
        private final int total;
        private final CompletableFuture<Integer> done;
        private int taken;
        private int acked;

        private Send(ByteBuffer source, CompletableFuture<Integer> done) {
            this.source = source;
            this.start = source.position();
            this.total = source.remaining();
            this.done = done;
        }

        int total() {
            return total;
        }

        /** The application's buffer (its registration may be cached, {@link RegistrationCache}). */
        ByteBuffer source() {
            return source;
        }

        /** Bytes not yet taken into the wire. */
        int left() {
            return total - taken;
        }

        /** Whether its bytes are in direct memory, which a provider can send from as they are. */
        boolean direct() {
            return source.isDirect();
        }

        /** Whether some of it is on the wire already. */
        boolean started() {
            return taken > 0;
        }
    }

    /** {@code bytes} of {@code send} that went in one provider send. */
    record Segment(Send send, int bytes) {
    }

    /** Sends with bytes not yet taken, in order. */
    private final ArrayDeque<Send> waiting = new ArrayDeque<>();
    /** Sends not yet completed, in order. */
    private final Set<Send> unfinished = new LinkedHashSet<>();

    /** Queues {@code source}'s remaining bytes (not empty); {@code done} completes with their count. */
    void add(ByteBuffer source, CompletableFuture<Integer> done) {
        Send s = new Send(source, done);
        waiting.add(s);
        unfinished.add(s);
    }

    /** The first send with bytes not yet taken, or null. */
    Send next() {
        return waiting.peek();
    }

    /** A view of the next {@code n} bytes of {@code s} (the head), without taking them. */
    ByteBuffer peek(Send s, int n) {
        ByteBuffer part = s.source.duplicate();
        part.limit(s.start + s.taken + n).position(s.start + s.taken);
        return part;
    }

    /** The next {@code n} bytes of {@code s} (the head) went into the wire. */
    void taken(Send s, int n) {
        s.taken += n;
        if (s.taken == s.total) {
            waiting.poll();
        }
    }

    /** Copies up to {@code n} next bytes of the head {@code s} and takes them, as one segment. */
    void copy(Send s, int n, ByteBuffer out, List<Segment> segments) {
        out.put(peek(s, n));
        taken(s, n);
        segments.add(new Segment(s, n));
    }

    /** {@code bytes} of {@code s} reached the peer; the send completes with its last ones. */
    void acknowledge(Send s, int bytes) {
        s.acked += bytes;
        if (s.acked == s.total && unfinished.remove(s)) {
            s.source.position(s.start + s.total);
            s.done.complete(s.total);
        }
    }

    /**
     * The connection moves (docs/migration.md section 4): what was taken is kept by the switch (the
     * retention) and sent again from there, so it counts as sent; the sends it finishes complete.
     */
    void acknowledgeTaken() {
        for (Send s : new ArrayList<>(unfinished)) {
            if (s.taken > s.acked) {
                acknowledge(s, s.taken - s.acked);
            }
        }
    }

    /** Fails {@code s}, none of which was taken, alone; the sends after it go on. */
    void refuse(Send s, WsaException why) {
        waiting.remove(s);
        unfinished.remove(s);
        s.done.completeExceptionally(why);
    }

    /** Every send completed. */
    boolean isEmpty() {
        return unfinished.isEmpty();
    }

    /** The connection ended: every send not completed fails with a fresh {@code why}. */
    void failAll(Supplier<WsaException> why) {
        for (Send s : unfinished) {
            s.done.completeExceptionally(why.get());
        }
        unfinished.clear();
        waiting.clear();
    }
}
