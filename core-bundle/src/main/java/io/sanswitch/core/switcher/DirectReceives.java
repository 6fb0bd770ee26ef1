package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

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
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Application receives a plain stream lends to the provider: a large direct buffer of the
 * application is registered and the provider receives straight into it, with no copy from a
 * {@link ReceiveRing} buffer (issue 12: that copy was the main cost left on the receiving core).
 *
 * <p>Stream order decides when a buffer may be lent: only if the bytes the provider puts there are
 * the next ones of the stream for exactly that receive, so only while nothing is ahead of it (no
 * ring receive posted or unprocessed, nothing waiting in the inbound buffer, the peer not closed;
 * the connection checks that, see {@code mayLend}). Several may be lent, in the application's order:
 * a provider completes one socket's receives in posting order, and they are handed back in posting
 * order whatever order their completions come in. While any is lent the ring posts nothing.
 *
 * <p>The application gets its buffer back only once the provider is done with it: a receive that
 * ended (closed, aborted, reset) fails when its provider receive completed or the socket was closed,
 * never with success afterwards, and exactly once. Owned by the connection's queue.
 */
final class DirectReceives {
    private static final Logger LOG = LoggerFactory.getLogger(DirectReceives.class);
    /** Direct receives from this size on are lent: below it the copy costs less than a registration. */
    static final int LEND_FROM = PlainStream.BORROW_FROM;
    /** Lent receives outstanding at most (each holds a registration). */
    static final int MOST_LENT = 8;

    /** What the connection does when a lent receive saw the peer's orderly close. */
    @FunctionalInterface
    interface PeerClosed {
        void run();
    }

    /** One application receive lent to the provider. */
    private static final class Lent {
        final Connection.PendingReceive receive;
        final MemoryHandle registration;
        /** The completed receive's byte count; -1 while it is posted. */
        long arrived = -1;
        /** The application's future was completed (its buffer may still be in the provider's hands). */
        boolean answered;
        /** The failure to answer with once the provider is done with the buffer; null while it is wanted. */
        WsaException doomed;

        Lent(Connection.PendingReceive receive, MemoryHandle registration) {
            this.receive = receive;
            this.registration = registration;
        }

        void answer(int n) {
            if (!answered) {
                answered = true;
                receive.done().complete(n);
            }
        }

        void fail(WsaException e) {
            if (!answered) {
                answered = true;
                receive.done().completeExceptionally(e);
            }
        }
    }

    private final Connection c;
    /** The provider socket of the carrier this belongs to (docs/migration.md section 4: a moved connection gets new ones). */
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final ArrayDeque<Connection.PendingReceive> waiting;
    private final BooleanSupplier mayLend;
    private final PeerClosed peerClosed;
    private final ArrayDeque<Lent> lent = new ArrayDeque<>();
    private boolean lending;

    /**
     * @param waiting the connection's application receives not yet answered, in order
     * @param plain whether the stream is plain (else nothing is ever lent)
     * @param mayLend whether nothing is ahead in the stream of the first waiting receive
     */
    DirectReceives(Connection c, Carrier k, ArrayDeque<Connection.PendingReceive> waiting, boolean plain, BooleanSupplier mayLend,
            PeerClosed peerClosed) {
        this.c = c;
        this.spi = k.spi;
        this.handle = k.handle;
        this.lending = plain; // a framed stream's bytes come in frames, never straight into the application's buffer
        this.waiting = waiting;
        this.mayLend = mayLend;
        this.peerClosed = peerClosed;
    }

    private boolean lendable(Connection.PendingReceive r) {
        return lending && r != null && r.into().isDirect() && r.into().remaining() >= LEND_FROM;
    }

    /**
     * Whether the ring must not post: buffers are lent, or the next application receive is to be
     * (a ring receive would take the bytes ahead of it).
     */
    boolean holdsStream() {
        return !lent.isEmpty() || lendable(waiting.peek());
    }

    /** Lends the waiting receives at the head, in order, while nothing is ahead of them. */
    void pump() {
        while (lent.size() < MOST_LENT && lendable(waiting.peek()) && mayLend.getAsBoolean()) {
            Connection.PendingReceive r = waiting.peek();
            MemoryHandle registration;
            try {
                registration = spi.registerMemory(handle, r.into().slice(), Winsock.MEM_WRITE);
            } catch (WsaException e) {
                if (!c.providerGoing(e)) {
                    LOG.debug("{}: application buffer not registered ({}); receiving through the ring", c, e.error());
                    lending = false;
                }
                return;
            }
            c.registered(1);
            Lent l = new Lent(r, registration);
            try {
                spi.recv(handle, new WsaBuf[] {WsaBuf.of(registration)}, c.whenDone(() -> completed(l), res -> process(l, res)));
            } catch (WsaException e) {
                release(registration);
                c.refused(e); // the receive still waits; the connection's end answers it
                return;
            }
            waiting.poll();
            lent.add(l);
        }
    }

    /** Runs for every completion, also of a connection that ended meanwhile. */
    private void completed(Lent l) {
        if (c.ended()) {
            // The connection's end zeroed its count; the socket's close releases the registration.
            lent.remove(l);
            l.fail(l.doomed != null ? l.doomed : new WsaException(WSA_OPERATION_ABORTED, "receive ended"));
        }
    }

    /** {@code l}'s receive succeeded: answers the lent receives at the head, in posting order. */
    private void process(Lent l, OverlappedResult r) {
        l.arrived = r.bytesTransferred();
        boolean sawEnd = false;
        while (!lent.isEmpty() && lent.peek().arrived >= 0 && !c.ended()) {
            Lent head = lent.poll();
            release(head.registration);
            int n = (int) head.arrived;
            if (head.doomed != null) {
                head.fail(head.doomed);
            } else if (n == 0) {
                // docs/rules.md BG-close: the peer closed; no receive after this one gets bytes either.
                sawEnd = true;
                head.answer(-1);
                lent.forEach(later -> later.answer(-1));
            } else {
                ByteBuffer into = head.receive.into();
                into.position(into.position() + n);
                head.answer(n);
            }
        }
        if (sawEnd) {
            peerClosed.run();
        } else {
            c.deliver();
        }
    }

    private void release(MemoryHandle registration) {
        try {
            spi.deregisterMemory(handle, registration);
            c.registered(-1);
        } catch (WsaException e) {
            // Released with the socket at the latest.
            LOG.debug("{}: deregistering a lent application buffer: {}", c, e.error());
        }
    }

    /**
     * The application closed: the lent receives fail with {@code e}, each once the provider is done
     * with its buffer (its receive completed, or the socket's close cancelled it).
     */
    void doom(WsaException e) {
        for (Lent l : lent) {
            if (l.doomed == null) {
                l.doomed = e;
            }
        }
    }

    /**
     * The connection ended and its socket is closed (so the provider writes no more into the lent
     * buffers): every lent receive not answered yet fails, with {@code error} unless it was doomed.
     */
    void ended(WsaError error, String why) {
        for (Lent l : lent) {
            l.fail(l.doomed != null ? l.doomed : new WsaException(error, why));
        }
    }

    int lent() {
        return lent.size();
    }
}
