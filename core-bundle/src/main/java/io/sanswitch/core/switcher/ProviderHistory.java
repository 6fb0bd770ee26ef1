package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import io.sanswitch.api.ProviderChoice;

/**
 * The providers a connection was on, as {@code SwitchSocket.history()} shows them (docs/rules.md
 * SW-migrate-visible), bounded: the choice made when the connection was made, the last
 * {@value #MOVES_KEPT} moves, and how many moves in between were left out. A connection that stays
 * open across thousands of hot swaps keeps {@value #MOVES_KEPT} + 1 entries, not one per move.
 * Immutable: a move makes the next one, so a reader on any thread sees one whole history.
 */
final class ProviderHistory {
    /** The moves kept after the first choice (docs/migration.md section 4, "What a move shows"). */
    static final int MOVES_KEPT = 16;

    private final List<ProviderChoice> kept;
    private final long leftOut;

    private ProviderHistory(List<ProviderChoice> kept, long leftOut) {
        this.kept = kept;
        this.leftOut = leftOut;
    }

    /** A connection just made or accepted: its first choice alone. */
    static ProviderHistory of(ProviderChoice first) {
        return new ProviderHistory(List.of(first), 0);
    }

    /** This history after one more move; the oldest kept move is left out once {@value #MOVES_KEPT} are kept. */
    ProviderHistory moved(ProviderChoice move) {
        if (move.reason() != ProviderChoice.Reason.MOVED) {
            throw new IllegalArgumentException("not a move: " + move);
        }
        boolean full = kept.size() > MOVES_KEPT;
        List<ProviderChoice> next = new ArrayList<>(kept.size() + 1);
        next.add(kept.get(0));
        next.addAll(kept.subList(full ? 2 : 1, kept.size()));
        next.add(move);
        return new ProviderHistory(List.copyOf(next), full ? leftOut + 1 : leftOut);
    }

    /** The first choice, then the last moves, oldest first; never empty, immutable. */
    List<ProviderChoice> choices() {
        return kept;
    }

    /** The choice in force: the last move, or the first choice of a connection that never moved. */
    ProviderChoice last() {
        return kept.get(kept.size() - 1);
    }

    /** Moves made between the first choice and the first move kept, no longer listed. */
    long leftOut() {
        return leftOut;
    }

    /** Every move so far, listed or left out. */
    long moves() {
        return kept.size() - 1 + leftOut;
    }

    /** What {@code san:sockets} shows for the connection (see {@link Switch#describe(List, long, InetSocketAddress, InetSocketAddress)}). */
    String describe(InetSocketAddress local, InetSocketAddress remote) {
        return Switch.describe(kept, leftOut, local, remote);
    }

    @Override
    public String toString() {
        return leftOut == 0 ? kept.toString() : kept.get(0) + " ... " + leftOut + " moves left out ... "
                + kept.subList(1, kept.size());
    }
}
