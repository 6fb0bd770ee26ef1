package io.sanswitch.rdma;

import java.util.BitSet;

/**
 * The peer's exposures on one connection that its deregistrations revoked (docs/rules.md
 * RD-access), as the initiating side knows them: every number below a floor, and those at or above
 * it marked one by one. The peer numbers its exposures 1, 2, ... and sends, with each revocation,
 * the lowest number it still has registered, so the marks stay few however many exposures come
 * and go. The window above the floor is bounded ({@link #MAX_WINDOW}): the peer's numbers are
 * hostile input, and a revocation outside the window is refused (the caller resets the
 * connection).
 *
 * <p>Thread-safe (a lock held for a bit lookup): the worker thread checks each RDMA operation as
 * it starts, the rendezvous thread marks revocations.
 */
final class RevokedExposures {
    /** Exposures at most between the peer's oldest registered one and a revoked one: 128 KiB of marks. */
    static final long MAX_WINDOW = 1L << 20;

    /** Every exposure below it is revoked. */
    private long floor = 1;
    /** Bit i: exposure floor + i is revoked. */
    private BitSet marks = new BitSet();

    /**
     * Marks {@code exposure} revoked and raises the floor to {@code lowestRegistered}.
     *
     * @return false if the numbers are out of bounds (not the peer's: the caller resets the connection)
     */
    synchronized boolean revoke(long exposure, long lowestRegistered) {
        if (exposure <= 0 || lowestRegistered <= 0) {
            return false;
        }
        if (lowestRegistered > floor) {
            long shift = lowestRegistered - floor;
            marks = shift >= marks.length() ? new BitSet() : marks.get((int) shift, marks.length());
            floor = lowestRegistered;
        }
        if (exposure < floor) {
            return true;
        }
        if (exposure - floor >= MAX_WINDOW) {
            return false;
        }
        marks.set((int) (exposure - floor));
        return true;
    }

    synchronized boolean isRevoked(long exposure) {
        return exposure < floor || exposure - floor < MAX_WINDOW && marks.get((int) (exposure - floor));
    }
}
