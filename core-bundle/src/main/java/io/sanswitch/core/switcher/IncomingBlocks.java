package io.sanswitch.core.switcher;

import java.util.HashMap;
import java.util.Map;

/**
 * The bookkeeping of the blocks the peer announced and this side has not finished. Each announced
 * block costs a registration and up to {@link Frames#MAX_BLOCK} bytes here, so an announcement is
 * accepted only in the flow our HELLO asked for, with the next id of the peer's sequence, and within
 * {@link Frames#MAX_BLOCKS_IN_FLIGHT} and {@link Frames#MAX_BLOCK_BYTES_IN_FLIGHT}; anything else
 * is a protocol error (docs/security.md, SEC-2).
 * Owned by the connection's queue.
 */
final class IncomingBlocks {
    /** A target this side exposed for a write-flow block. */
    record Target(InboundBuffer.Chunk place, BlockPool.Buffer buffer, int length) {
    }

    private final Map<Integer, Target> targets = new HashMap<>();
    /** The id of the last block the peer announced (its ids run 1 .. Integer.MAX_VALUE, then 1 again). */
    private int lastId;
    private int count;
    private long bytes;

    /**
     * Counts in the announcement {@code frame} of block {@code id} of {@code length} bytes.
     *
     * @param flowAgreed whether the frame's flow is the one our HELLO asked for
     * @return why it breaks the protocol (then nothing was counted), or null
     */
    String accept(String frame, int id, int length, boolean flowAgreed) {
        int expected = lastId == Integer.MAX_VALUE ? 1 : lastId + 1;
        String bad = !flowAgreed ? frame + ", but our HELLO asked for the other flow"
                : id != expected ? frame + " for block " + id + ", expected " + expected
                : count >= Frames.MAX_BLOCKS_IN_FLIGHT ? frame + " beyond " + Frames.MAX_BLOCKS_IN_FLIGHT + " blocks in flight"
                : bytes + length > Frames.MAX_BLOCK_BYTES_IN_FLIGHT ? frame + " of " + length + " bytes beyond "
                        + Frames.MAX_BLOCK_BYTES_IN_FLIGHT + " bytes in flight (" + bytes + " now)"
                : null;
        if (bad == null) {
            lastId = id;
            count++;
            bytes += length;
        }
        return bad;
    }

    /** A block of {@code length} bytes arrived here: it leaves the blocks in flight. */
    void finished(int length) {
        count--;
        bytes -= length;
    }

    /** Block {@code id} (write flow) has a target. */
    void exposed(int id, Target t) {
        targets.put(id, t);
    }

    /** The peer's WRITE_DONE for {@code id}: its target, now finished, or null if it has none here. */
    Target written(int id) {
        Target t = targets.remove(id);
        if (t != null) {
            finished(t.length());
        }
        return t;
    }

    int count() {
        return count;
    }

    long bytes() {
        return bytes;
    }

    /** The connection ended; the socket's close releases the registrations. */
    void clear() {
        targets.clear();
        count = 0;
        bytes = 0;
    }
}
