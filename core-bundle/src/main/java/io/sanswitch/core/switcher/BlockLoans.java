package io.sanswitch.core.switcher;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The application's receives lent to the peer's blocks, each RDMA-read straight into (issue 12: one
 * copy less), in stream order, and the fence of a move (docs/migration.md section 4, docs/rules.md
 * SW-migrate-fence). A provider writes into a read's buffer until it has completed that read
 * (docs/rules.md OV-close-aborts, LC-b-rdma, LC-b-memory: after its aborted completion, no more), and
 * at a move the old carrier's reads complete when its provider gets to them, which may be after the
 * session resumed elsewhere. So a receive lent on a carrier the connection left is fenced: it goes
 * back to the application's receives, its buffer's position back where the block was to go (the
 * block did not count, the peer sends it again: docs/migration.md section 5), only once every fenced
 * read has completed; until then no receive gets bytes (they would overtake the fenced ones).
 * Owned by the connection's queue.
 */
final class BlockLoans {
    /** One receive lent to a block's read. */
    static final class Loan {
        final Connection.PendingReceive receive;
        /** Where the block goes in the receive's buffer: its position when lent. */
        private final int at;
        /** The read completed on its provider, with success or not: the provider writes no more into the buffer. */
        private boolean over;
        /** The read succeeded and its place in the stream completes or abandons the receive. */
        private boolean placed;
        /** The connection left the read's carrier while the receive was lent. */
        private boolean fenced;

        private Loan(Connection.PendingReceive receive) {
            this.receive = receive;
            this.at = receive.into().position();
        }
    }

    /** Lent on the carrier now, not answered yet, in stream order. */
    private final ArrayDeque<Loan> lent = new ArrayDeque<>();
    /** Lent on carriers the connection left, in stream order. */
    private final ArrayDeque<Loan> fenced = new ArrayDeque<>();
    /** Fenced loans whose read has not completed. */
    private int fencedInFlight;

    /** {@code r} (taken off the head of the application's receives) is lent to the next block's read. */
    Loan lend(Connection.PendingReceive r) {
        Loan l = new Loan(r);
        lent.add(l);
        return l;
    }

    /** {@code l}'s receive was answered, or given back before its read was posted: no loan any more. */
    void answered(Loan l) {
        lent.remove(l);
    }

    /**
     * {@code l}'s read completed on its provider.
     *
     * @param placed it succeeded on the carrier now: its place in the stream answers the receive
     * @return whether {@code l} was fenced: its result is for nobody, the receive waits for the fence
     */
    boolean readOver(Loan l, boolean placed) {
        l.over = true;
        if (l.fenced) {
            fencedInFlight--;
            return true;
        }
        l.placed = placed;
        return false;
    }

    /**
     * The connection leaves its carrier: every receive lent there and not answered is fenced (its
     * place in the stream is dropped with what follows it).
     */
    void fence() {
        for (Loan l : lent) {
            l.fenced = true;
            l.placed = false;
            fenced.add(l);
            if (!l.over) {
                fencedInFlight++;
            }
        }
        lent.clear();
    }

    /** Whether a read of a carrier the connection left has not completed: no receive may get bytes. */
    boolean holds() {
        return fencedInFlight > 0;
    }

    /**
     * Once the fence no longer {@link #holds}: the fenced receives, in stream order, each buffer's
     * position back where its block was to go; empty while it holds.
     */
    List<Connection.PendingReceive> lift() {
        List<Connection.PendingReceive> back = new ArrayList<>();
        if (holds()) {
            return back;
        }
        for (Loan l : fenced) {
            l.receive.into().position(l.at);
            back.add(l.receive);
        }
        fenced.clear();
        return back;
    }

    /**
     * The connection ended: the receives whose read is over and that no place in the stream answers
     * (a read that failed, a fenced one), in stream order, to fail now; the others fail when their
     * read completes, or when their place is dropped.
     */
    List<Connection.PendingReceive> ended() {
        List<Connection.PendingReceive> failing = new ArrayList<>();
        for (ArrayDeque<Loan> loans : List.of(fenced, lent)) {
            loans.removeIf(l -> {
                if (l.over && !l.placed) {
                    failing.add(l.receive);
                    return true;
                }
                return false;
            });
        }
        return failing;
    }

    /** Receives lent, fenced or not, for a diagnosis. */
    int size() {
        return lent.size() + fenced.size();
    }
}
