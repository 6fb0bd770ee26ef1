package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

import io.sanswitch.api.SwitchSocket;

/**
 * The receiving half of a moved session over its resume socket (docs/migration.md section 4): up to
 * {@link #MAX_POSTED} receives of the socket posted at once, so the socket has a receive to fill
 * while the last one's bytes are read, and its own read-ahead does not have to buffer (and copy) them
 * for want of one. A second buffer is allocated once a receive filled its buffer (more is on its
 * way); a quiet connection keeps one. The bytes are handed on in posting order, which is stream order
 * (a socket completes its receives in the order they were made; a completion that overtakes an
 * earlier one waits for it anyway). Owned by the connection's queue.
 */
final class ResumedReceives {
    /** Receives of the socket posted at most. */
    static final int MAX_POSTED = 2;

    /** Where the bytes go, on the connection's queue. */
    interface Sink {
        /** The bytes of one receive, valid during the call (the buffer is posted again afterwards). */
        void received(ByteBuffer bytes);

        /** The peer closed its side gracefully: no more bytes. */
        void peerEnded();

        /** A receive failed: the connection fails (docs/rules.md SW-migrate-death). */
        void receiveFailed(Throwable e);

        /** The connection ended: nothing more is posted or handed on. */
        boolean connectionEnded();
    }

    private static final int POSTED = -2;

    private static final class Buffer {
        final ByteBuffer memory;
        /** What the receive brought ({@code -1}: the end of the stream); {@link #POSTED} while posted. */
        int arrived = POSTED;

        Buffer(int bytes) {
            memory = ByteBuffer.allocate(bytes);
        }
    }

    private final SwitchSocket socket;
    private final int bufferBytes;
    private final Executor here;
    private final Executor later;
    /** Whether more bytes are welcome (the application keeps up). */
    private final BooleanSupplier wanted;
    private final Sink sink;
    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private final ArrayDeque<Buffer> posted = new ArrayDeque<>();
    private int buffers;
    private boolean peerEnded;

    /**
     * @param here runs a successful completion on the connection's queue (on the completing thread if idle)
     * @param later runs a failure on the connection's queue, never on the completing thread
     */
    ResumedReceives(SwitchSocket socket, int bufferBytes, Executor here, Executor later, BooleanSupplier wanted, Sink sink) {
        this.socket = socket;
        this.bufferBytes = bufferBytes;
        this.here = here;
        this.later = later;
        this.wanted = wanted;
        this.sink = sink;
        free.add(new Buffer(bufferBytes));
        buffers = 1;
    }

    /** Receives posted and not yet handed on. */
    int posted() {
        return posted.size();
    }

    /** Posts a receive into every free buffer while bytes are wanted. */
    void pump() {
        while (!free.isEmpty() && !peerEnded && !sink.connectionEnded() && wanted.getAsBoolean()) {
            Buffer b = free.poll();
            b.arrived = POSTED;
            b.memory.clear();
            posted.add(b);
            socket.receive(b.memory).whenComplete((n, e) -> {
                if (e == null) {
                    here.execute(() -> completed(b, n));
                } else {
                    later.execute(() -> sink.receiveFailed(e));
                }
            });
        }
    }

    /** On the connection's queue: {@code b}'s receive brought {@code n} bytes; the receives at the head are handed on in order. */
    private void completed(Buffer b, int n) {
        if (sink.connectionEnded()) {
            return;
        }
        b.arrived = n;
        while (!posted.isEmpty() && posted.peek().arrived != POSTED && !sink.connectionEnded() && !peerEnded) {
            Buffer head = posted.poll();
            if (head.arrived < 0) {
                peerEnded = true;
                sink.peerEnded();
                return;
            }
            if (head.arrived == bufferBytes && buffers < MAX_POSTED) {
                free.add(new Buffer(bufferBytes));
                buffers++;
            }
            pump(); // the next receive goes before these bytes are read
            sink.received(head.memory.position(0).limit(head.arrived));
            free.add(head);
        }
        pump();
    }

    /** The connection ended: nothing more is handed on. */
    void ended() {
        posted.clear();
        free.clear();
    }

    @Override
    public String toString() {
        return posted.size() + " receives posted" + (peerEnded ? ", peer ended" : "");
    }
}
