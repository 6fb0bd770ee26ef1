package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaException;

/**
 * The provider sends of one connection: up to {@code maxInFlight} posted at a time, so the
 * provider always has the next bytes while the switch refills. Each goes from a registered send
 * buffer the {@link WireFormat} fills, or, where the format allows it, straight from the
 * application's own memory (registered for that send only). Buffers are registered as the traffic
 * needs them: a quiet connection keeps one; the first time it needs a second, the others come with it,
 * in one registration.
 *
 * <p>Sends are retired in posting order whatever order the provider completes them in (UCX may
 * complete a small eager send before an earlier rendezvous one): the bytes of an application's send
 * are acknowledged only once every provider send up to its last byte completed, so application
 * sends complete in order and only when the provider accepted all their bytes. Owned by the
 * connection's queue.
 */
final class SendSlots {
    private static final Logger LOG = LoggerFactory.getLogger(SendSlots.class);
    /** Provider sends a connection has posted at most; enough to keep a stream transport busy. */
    static final int MAX_IN_FLIGHT = 4;

    /** A registered send buffer: {@code memory}, at {@code offset} of {@code registration}. */
    private record Buffer(ByteBuffer memory, MemoryHandle registration, int offset) {
        /** The {@code length} bytes the buffer holds from its start, as the provider takes them. */
        WsaBuf filled(int length) {
            return new WsaBuf(registration, offset, length);
        }
    }

    /** One posted provider send, until it is retired. */
    private static final class Posted {
        /** The send buffer it went from; null for one from the application's memory. */
        final Buffer buffer;
        /** The application's memory registered for it alone; null for one from a send buffer. */
        final MemoryHandle borrowed;
        final List<SendQueue.Segment> segments;
        /** It carries an ACK frame alone (docs/migration.md section 5: one such in flight at a time). */
        boolean ackOnly;
        boolean completed;

        Posted(Buffer buffer, MemoryHandle borrowed, List<SendQueue.Segment> segments) {
            this.buffer = buffer;
            this.borrowed = borrowed;
            this.segments = segments;
        }
    }

    private final Connection c;
    /** The provider socket of the carrier this belongs to (docs/migration.md section 4: a moved connection gets new ones). */
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final SendQueue sends;
    private final WireFormat wire;
    private final int maxInFlight;
    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private final ArrayDeque<Posted> posted = new ArrayDeque<>();
    private int buffers;
    private boolean mayGrow = true;
    /** A protocol error ended the connection while sends were posted: the RESET goes once they are done. */
    private boolean resetPending;

    SendSlots(Connection c, Carrier k, SendQueue sends, WireFormat wire, int maxInFlight) {
        this.c = c;
        this.spi = k.spi;
        this.handle = k.handle;
        this.sends = sends;
        this.wire = wire;
        this.maxInFlight = maxInFlight;
    }

    /** Registers the first send buffer (the connection's start fails without it). */
    void start() throws WsaException {
        register(1);
    }

    /**
     * Registers {@code count} send buffers as one region, into the free ones: one provider call
     * however many (over UCX each is a call handed to its progress thread, which the connection's
     * queue waits for: at a move back every new resume socket grows its buffers at once).
     */
    private void register(int count) throws WsaException {
        int bytes = Connection.BUFFER_BYTES;
        ByteBuffer memory = ByteBuffer.allocateDirect(count * bytes);
        MemoryHandle registration = spi.registerMemory(handle, memory, Winsock.MEM_READ);
        c.registered(1);
        buffers += count;
        for (int i = 0; i < count; i++) {
            free.add(new Buffer(memory.slice(i * bytes, bytes), registration, i * bytes));
        }
    }

    /** No provider send is posted. */
    boolean idle() {
        return posted.isEmpty();
    }

    /** Provider sends posted and not yet retired. */
    int inFlight() {
        return posted.size();
    }

    /** Posts provider sends while there are bytes to send and room for them. */
    void pump() {
        while (posted.size() < maxInFlight && !c.ended()) {
            ByteBuffer own = wire.borrow(sends);
            if (own != null) {
                if (!postBorrowed(own)) {
                    return;
                }
                continue;
            }
            Buffer b = freeBuffer();
            if (b == null) {
                return;
            }
            ByteBuffer out = b.memory().clear();
            List<SendQueue.Segment> segments = new ArrayList<>();
            if (!wire.fill(out, sends, segments) || out.position() == 0) {
                free.push(b);
                return;
            }
            Posted p = new Posted(b, null, segments);
            p.ackOnly = wire.lastFillAckOnly();
            if (!post(p, b.filled(out.position()))) {
                free.push(b);
                return;
            }
        }
    }

    private Buffer freeBuffer() {
        Buffer b = free.poll();
        if (b != null || !mayGrow || buffers >= maxInFlight) {
            return b;
        }
        try {
            // All it may still grow by: a stream that needs a second buffer soon needs the others too.
            register(maxInFlight - buffers);
            return free.poll();
        } catch (WsaException e) {
            // The buffers there are keep the connection going; the next call shows a dead socket.
            LOG.debug("{}: no further send buffer: {}", c, e.error());
            mayGrow = false;
            return null;
        }
    }

    /**
     * Posts the application's bytes in {@code own} from their own memory.
     *
     * @return whether to go on: they were posted, or the format copies them from now on
     */
    private boolean postBorrowed(ByteBuffer own) {
        SendQueue.Send s = sends.next();
        MemoryHandle registration;
        try {
            registration = spi.registerMemory(handle, own, Winsock.MEM_READ);
        } catch (WsaException e) {
            if (c.providerGoing(e)) {
                return false;
            }
            LOG.debug("{}: application buffer not registered ({}); copying instead", c, e.error());
            wire.borrowRefused();
            return true;
        }
        c.registered(1);
        int n = own.remaining();
        sends.taken(s, n);
        if (!post(new Posted(null, registration, List.of(new SendQueue.Segment(s, n))), WsaBuf.of(registration))) {
            if (!c.ended()) {
                release(registration);
            }
            return false;
        }
        return true;
    }

    /** @return whether it was posted (else the connection ended) */
    private boolean post(Posted p, WsaBuf from) {
        try {
            spi.send(handle, new WsaBuf[] {from}, 0, c.whenDone(() -> completed(p), r -> retire()));
        } catch (WsaException e) {
            c.refused(e);
            return false;
        }
        posted.add(p);
        return true;
    }

    /** Runs for every completion, also of a connection that ended meanwhile. */
    private void completed(Posted p) {
        p.completed = true;
        if (!c.ended()) {
            return;
        }
        // Ended: nothing is acknowledged any more (the sends failed); the socket's close releases
        // the borrowed registrations. Only the RESET may still wait for the buffers.
        posted.remove(p);
        if (p.buffer != null) {
            free.add(p.buffer);
        }
        if (resetPending && posted.isEmpty()) {
            resetPending = false;
            c.sendReset();
        }
    }

    /** Retires the completed sends at the head, in posting order: their bytes reached the provider. */
    private void retire() {
        while (!posted.isEmpty() && posted.peek().completed) {
            Posted p = posted.poll();
            if (p.ackOnly) {
                wire.ackOnlySent();
            }
            for (SendQueue.Segment s : p.segments) {
                sends.acknowledge(s.send(), s.bytes());
            }
            if (p.buffer != null) {
                free.push(p.buffer);
            } else {
                release(p.borrowed);
            }
        }
        c.pumpSend();
        c.finishCloseWhenIdle();
    }

    private void release(MemoryHandle borrowed) {
        try {
            spi.deregisterMemory(handle, borrowed);
            c.registered(-1);
        } catch (WsaException e) {
            // Released with the socket at the latest.
            LOG.debug("{}: deregistering an application buffer: {}", c, e.error());
        }
    }

    /**
     * The connection ended by a protocol error and the peer is to get a RESET: from a send buffer
     * once every posted send is done (a frame is never split, and the RESET follows them), now if
     * none is posted.
     *
     * @return {@code true} if the RESET waits for posted sends (their completion sends it)
     */
    boolean resetWhenDone() {
        if (posted.isEmpty()) {
            return false;
        }
        resetPending = true;
        return true;
    }

    /**
     * Posts {@code last}, the last frame the connection sends over this socket (RESET, or MOVE at an
     * early move), from a free send buffer; {@code whenSent} completes it. With {@code orOwnBuffer} and
     * every buffer in flight (a stream at full speed), from a small buffer registered for it alone,
     * which the socket's close releases with the others. The buffer is taken for good: the socket may
     * still send after a MOVE (the DONEs of the peer's blocks it reads), and a provider may read a send's
     * memory only when it starts the send (UCX, on its own thread); a frame framed into the same buffer
     * would overwrite the MOVE (docs/rules.md SW-migrate-early).
     *
     * @return whether it was posted (no buffer is free, or the provider refused the send or the registration)
     */
    boolean postLast(Frame last, Overlapped whenSent, boolean orOwnBuffer) {
        Buffer taken = free.poll();
        if (taken == null && !orOwnBuffer) {
            return false;
        }
        Buffer b = taken;
        try {
            if (b == null) {
                ByteBuffer memory = ByteBuffer.allocateDirect(last.size());
                b = new Buffer(memory, spi.registerMemory(handle, memory, Winsock.MEM_READ), 0);
                c.registered(1);
            }
            ByteBuffer out = b.memory().clear();
            last.writeTo(out);
            spi.send(handle, new WsaBuf[] {b.filled(out.position())}, 0, whenSent);
            return true;
        } catch (WsaException e) {
            LOG.debug("{}: no {} sent: {}", c, last, e.error());
            if (taken != null) {
                free.push(taken); // not posted: free again
            }
            return false;
        }
    }
}
