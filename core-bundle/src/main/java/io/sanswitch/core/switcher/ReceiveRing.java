package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaException;

/**
 * The provider receives of one connection, into registered receive buffers: while the bytes of one
 * are processed the next is already posted, so the provider never waits for the switch. A second
 * buffer is registered once a receive filled its buffer (more is on its way); a quiet connection
 * keeps one.
 *
 * <p>The receives' bytes are processed in posting order, which is stream order, whatever order
 * their completions arrive in: a completion waits until the ones posted before it were processed.
 * Owned by the connection's queue.
 */
final class ReceiveRing {
    private static final Logger LOG = LoggerFactory.getLogger(ReceiveRing.class);
    /** Receives a connection has posted at most. */
    static final int SIZE = 2;

    /** What the connection does with the bytes of one receive, in stream order. */
    @FunctionalInterface
    interface Sink {
        /**
         * {@code bytes} arrived (the buffer is reposted after this returns); no bytes is the peer's
         * orderly close.
         */
        void received(ByteBuffer bytes);
    }

    private static final class Buffer {
        final ByteBuffer memory;
        final MemoryHandle registration;
        /** The completed receive's byte count; -1 while it is posted. */
        int arrived = -1;

        Buffer(ByteBuffer memory, MemoryHandle registration) {
            this.memory = memory;
            this.registration = registration;
        }
    }

    private final Connection c;
    /** The provider socket of the carrier this belongs to (docs/migration.md section 4: a moved connection gets new ones). */
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final int bufferBytes;
    private final int size;
    private final Sink sink;
    /** Whether more bytes are welcome now (the connection is open, the peer has not closed, room waits). */
    private final BooleanSupplier wanted;
    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private final ArrayDeque<Buffer> posted = new ArrayDeque<>();
    private int buffers;
    private boolean mayGrow = true;

    ReceiveRing(Connection c, Carrier k, int bufferBytes, int size, Sink sink, BooleanSupplier wanted) {
        this.c = c;
        this.spi = k.spi;
        this.handle = k.handle;
        this.bufferBytes = bufferBytes;
        this.size = size;
        this.sink = sink;
        this.wanted = wanted;
    }

    /** Registers the first receive buffer (the connection's start fails without it). */
    void start() throws WsaException {
        free.add(register());
    }

    private Buffer register() throws WsaException {
        ByteBuffer memory = ByteBuffer.allocateDirect(bufferBytes);
        MemoryHandle registration = spi.registerMemory(handle, memory, Winsock.MEM_WRITE);
        c.registered(1);
        buffers++;
        return new Buffer(memory, registration);
    }

    /** Receives posted and not yet processed. */
    int posted() {
        return posted.size();
    }

    /** Posts a receive into every free buffer while more bytes are wanted. */
    void pump() {
        while (!free.isEmpty() && wanted.getAsBoolean()) {
            Buffer b = free.poll();
            b.arrived = -1;
            try {
                spi.recv(handle, new WsaBuf[] {WsaBuf.of(b.registration)},
                        c.whenDone(() -> completed(b), r -> process(b, r)));
            } catch (WsaException e) {
                free.push(b);
                c.refused(e);
                return;
            }
            posted.add(b);
        }
    }

    /** Runs for every completion, also of a connection that ended meanwhile. */
    private void completed(Buffer b) {
        if (c.ended()) {
            posted.remove(b);
            free.add(b);
        }
    }

    /** {@code b}'s receive succeeded: hands the bytes of the receives at the head on, in posting order. */
    private void process(Buffer b, OverlappedResult r) {
        b.arrived = (int) r.bytesTransferred();
        while (!posted.isEmpty() && posted.peek().arrived >= 0 && !c.ended()) {
            Buffer head = posted.poll();
            int n = head.arrived;
            if (n == head.memory.capacity()) {
                grow();
            }
            pump(); // the next receive goes before these bytes are handled
            sink.received(head.memory.duplicate().position(0).limit(n));
            free.add(head);
        }
        pump();
    }

    /** A receive filled its buffer: more is likely waiting, so a second receive is worth its memory. */
    private void grow() {
        if (!mayGrow || buffers >= size) {
            return;
        }
        try {
            free.add(register());
        } catch (WsaException e) {
            LOG.debug("{}: no further receive buffer: {}", c, e.error());
            mayGrow = false;
        }
    }
}
