package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;

import io.sanswitch.core.switcher.Connection.PendingReceive;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * A {@link Connection}'s receive path: the application's receives waiting for bytes, the bytes
 * arriving from its carrier into them or into the {@link InboundBuffer}, the receives lent to the
 * peer's blocks and the fence of a move over them (docs/rules.md SW-migrate-fence), and the
 * read-ahead that is the flow control (docs/rules.md SW-credit). Everything here is owned by the
 * connection's {@link SerialQueue}, as the connection's own state is.
 */
final class ConnectionReceives {
    private final Connection c;
    /** The application's receives waiting for bytes, in the order made. Owned by the connection's queue. */
    final ArrayDeque<PendingReceive> receives = new ArrayDeque<>();
    /**
     * The receives lent to the peer's blocks, and the fence of a move (docs/rules.md SW-migrate-fence).
     * Owned by the connection's queue.
     */
    final BlockLoans loans = new BlockLoans();

    ConnectionReceives(Connection c) {
        this.c = c;
    }

    /** An application receive, made while the connection is open: it waits for the next bytes. */
    void add(PendingReceive r) {
        receives.add(r);
        deliver();
    }

    void pumpReceive() {
        if (c.moves.moving()) {
            return;
        }
        Carrier k = c.carrier;
        if (k.resumed != null) {
            k.resumed.pumpReceive();
            return;
        }
        k.direct.pump();
        k.ring.pump();
    }

    /**
     * Whether the switch reads ahead into its ring: open, the peer has not closed, the application
     * keeps up or the peer keeps to our window (docs/rules.md SW-credit: the control frames behind the
     * data are read whatever waits), no application buffer is (to be) lent, whose bytes a ring
     * receive would take, and no block pool has as many dropped buffers waiting for their
     * deregistration as it keeps free (docs/rules.md SW-close-off-io: a peer that never acknowledges).
     */
    boolean wantsBytes() {
        InboundBuffer inbound = c.inbound;
        Connection.State state = c.state;
        return !inbound.isPeerClosed() && (!inbound.full() || windowed())
                && (state == Connection.State.OPEN || state == Connection.State.CLOSING)
                && !c.moves.moving() && c.carrier.direct != null && !c.carrier.direct.holdsStream()
                && !(c.carrier.wire instanceof FramedStream f && f.releasesFull());
    }

    private boolean windowed() {
        WireFormat wire = c.carrier.wire;
        return wire != null && wire.windowed();
    }

    /** docs/rules.md SW-credit: the application took {@code n} bytes of the peer's stream. */
    private void consumed(int n) {
        WireFormat wire = c.carrier.wire;
        if (wire != null && !c.moves.moving()) {
            wire.consumed(n);
        }
    }

    /** Whether a receive posted now gets the next bytes of the stream: nothing is ahead of it. */
    boolean mayLend() {
        InboundBuffer inbound = c.inbound;
        return c.state == Connection.State.OPEN && c.carrier.ring.posted() == 0 && inbound.isEmpty() && !inbound.isPeerClosed();
    }

    /** The bytes of one provider receive, in stream order (the buffer is reused afterwards). */
    void received(ByteBuffer bytes) {
        if (!bytes.hasRemaining()) {
            peerClosed();
            return;
        }
        c.carrier.wire.received(bytes);
        if (c.state.terminal()) {
            return;
        }
        deliver();
    }

    /** docs/rules.md BG-close: the peer closed; its last bytes came before. */
    void peerClosed() {
        c.inbound.peerClosed();
        deliver();
        if (c.state == Connection.State.CLOSING) {
            c.end.finishCloseNow();
        }
    }

    /**
     * Application bytes of the stream arrived in {@code bytes} (valid during this call only): straight
     * into the waiting receives if nothing waits ahead of them, the rest into the inbound buffer.
     */
    void arrived(ByteBuffer bytes) {
        if (c.moves.moving()) {
            return; // docs/migration.md section 4: not counted, the peer sends it again
        }
        // docs/rules.md SW-migrate-fence: while a fenced receive waits, the bytes wait behind it.
        if (c.inbound.isEmpty() && !loans.holds()) {
            int taken = 0;
            while (bytes.hasRemaining() && !receives.isEmpty()) {
                PendingReceive r = receives.poll();
                int n = Math.min(bytes.remaining(), r.into().remaining());
                r.into().put(bytes.duplicate().limit(bytes.position() + n));
                bytes.position(bytes.position() + n);
                taken += n;
                r.done().complete(n);
            }
            if (taken > 0) {
                consumed(taken);
            }
        }
        if (bytes.hasRemaining()) {
            c.inbound.add(bytes);
        }
    }

    /**
     * The application's receive a block of {@code length} bytes may be read straight into (taken off
     * the receives), or null: the receive at the head has a direct buffer with room for the whole
     * block, and nothing waits ahead of the block but blocks lent to the receives before it (so its
     * bytes are the receive's next).
     */
    BlockLoans.Loan receiveForBlock(int length) {
        PendingReceive head = receives.peek();
        if (c.state != Connection.State.OPEN || c.moves.moving() || loans.holds() || head == null || !c.inbound.onlyLent()
                || !head.into().isDirect() || head.into().remaining() < length) {
            return null;
        }
        return loans.lend(receives.poll());
    }

    /** A receive from {@link #receiveForBlock} whose block's read was never posted: back at the head (it is the last lent). */
    void receiveNotLent(BlockLoans.Loan l) {
        loans.answered(l);
        receives.addFirst(l.receive);
    }

    /**
     * The read of a block lent {@code l}'s receive completed on its provider, before anything else of
     * its completion: the provider writes no more into the buffer. A receive of a connection that
     * ended fails now; a fenced one waits for the fence to lift (docs/rules.md SW-migrate-fence); after
     * a failure the connection moves next (which fences it) or ends (which fails it).
     */
    void lentReadOver(BlockLoans.Loan l, boolean success) {
        boolean fenced = loans.readOver(l, success && !c.state.terminal());
        if (c.state.terminal()) {
            receiveEnded(l);
        } else if (fenced) {
            liftFence();
        }
    }

    /**
     * docs/rules.md SW-migrate-fence: once every read fenced at a move has completed, the fenced
     * receives go back to the head of the receives, in stream order, emptied of their blocks (the peer
     * sends those again), and the bytes waiting behind them are delivered.
     */
    void liftFence() {
        List<PendingReceive> back = loans.lift();
        if (back.isEmpty()) {
            return;
        }
        if (c.state != Connection.State.OPEN) {
            // Closing (the other receives were aborted when close was called) or ended.
            WsaError error = c.state.terminal() ? c.pendingError : WSA_OPERATION_ABORTED;
            String why = c.state.terminal() ? c.endedAt : "closed";
            back.forEach(r -> r.done().completeExceptionally(new WsaException(error, "receive from " + c.remoteAddress() + " ended: " + why)));
            return;
        }
        for (int i = back.size() - 1; i >= 0; i--) {
            receives.addFirst(back.get(i));
        }
        deliver();
    }

    /** The block was read into {@code l}'s buffer ({@code n} bytes, its position moved past them). */
    void receiveFilled(BlockLoans.Loan l, int n) {
        loans.answered(l);
        PendingReceive r = l.receive;
        if (c.state == Connection.State.OPEN) {
            consumed(n);
            r.done().complete(n);
        } else {
            // Closing: the other receives were aborted when close was called.
            r.done().completeExceptionally(new WsaException(WSA_OPERATION_ABORTED, "receive from " + c.remoteAddress() + " ended: closed"));
        }
    }

    /**
     * The connection ended while a block was read into {@code r}'s buffer; now that the read has
     * completed (the provider writes no more into it), it fails as the pending receives did.
     */
    void receiveEnded(BlockLoans.Loan l) {
        loans.answered(l);
        l.receive.done().completeExceptionally(new WsaException(c.pendingError, "receive from " + c.remoteAddress() + " ended: " + c.endedAt));
    }

    /** Hands received bytes to waiting receives, in order; the end of the stream as -1. */
    void deliver() {
        int taken = 0;
        // docs/rules.md SW-migrate-fence: no receive gets bytes ahead of a fenced one.
        while (!receives.isEmpty() && !loans.holds()) {
            int n = c.inbound.take(receives.peek().into());
            if (n == 0) {
                break;
            }
            taken += Math.max(n, 0);
            receives.poll().done().complete(n);
        }
        if (taken > 0) {
            consumed(taken);
        }
        pumpReceive();
    }

    void failReceives(WsaError error, String why) {
        for (PendingReceive pr : receives) {
            pr.done().completeExceptionally(new WsaException(error, "receive from " + c.remoteAddress() + " ended: " + why));
        }
        receives.clear();
    }

    /**
     * For a diagnosis (a stalled stream): the application's receives waiting and what heads the
     * bytes waiting for it, when there is either; read from any thread, it may be a moment old.
     */
    String application() {
        int waiting = receives.size();
        return waiting == 0 && c.inbound.isEmpty() ? "" : ", receives " + waiting + ", " + c.inbound;
    }
}
