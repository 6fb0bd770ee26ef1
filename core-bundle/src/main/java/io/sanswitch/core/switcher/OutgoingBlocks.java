package io.sanswitch.core.switcher;

import java.util.HashMap;
import java.util.Map;


/**
 * The bookkeeping of the blocks this side announced and the peer has not finished: their ids (1 ..
 * {@code Integer.MAX_VALUE}, then 1 again, as the peer expects), and how many and how many bytes are
 * in flight, which stay within what a receiver accepts ({@link Frames#MAX_BLOCKS_IN_FLIGHT},
 * {@link Frames#MAX_BLOCK_BYTES_IN_FLIGHT}). It also checks the peer's replies against what is in
 * flight. Owned by the connection's queue.
 */
final class OutgoingBlocks {
    /**
     * A block on its way to the peer: {@code exposed} in the read flow (the peer reads it), {@code local}
     * in the write flow (we write it once the peer's WRITE_TARGET came, then it is {@code targeted}).
     */
    static final class Block {
        final SendQueue.Send send;
        final int length;
        final BlockPool.Buffer exposed;
        final RegistrationCache.Lease local;
        private boolean targeted;

        private Block(SendQueue.Send send, int length, BlockPool.Buffer exposed, RegistrationCache.Lease local) {
            this.send = send;
            this.length = length;
            this.exposed = exposed;
            this.local = local;
        }

        static Block read(SendQueue.Send send, int length, BlockPool.Buffer exposed) {
            return new Block(send, length, exposed, null);
        }

        static Block write(SendQueue.Send send, int length, RegistrationCache.Lease local) {
            return new Block(send, length, null, local);
        }
    }

    private final Map<Integer, Block> inFlight = new HashMap<>();
    /** This side's own bound on the bytes in flight (a first block is always let go). */
    private final long pipelineBytes;
    private int lastId;
    private long bytes;

    /** Blocks in flight up to what a receiver accepts. */
    OutgoingBlocks() {
        this(Frames.MAX_BLOCK_BYTES_IN_FLIGHT);
    }

    /** Blocks in flight up to {@code pipelineBytes}, and never beyond what a receiver accepts. */
    OutgoingBlocks(long pipelineBytes) {
        this.pipelineBytes = pipelineBytes;
    }

    /** The id the next block gets. */
    int nextId() {
        return lastId == Integer.MAX_VALUE ? 1 : lastId + 1;
    }

    /**
     * Whether a block of {@code length} bytes stays within the blocks a receiver accepts in flight
     * and within this side's pipeline.
     */
    boolean mayStart(long length) {
        return inFlight.size() < Frames.MAX_BLOCKS_IN_FLIGHT && bytes + length <= Frames.MAX_BLOCK_BYTES_IN_FLIGHT
                && (bytes == 0 || bytes + length <= pipelineBytes);
    }

    /** Block {@link #nextId()} was announced. */
    void started(Block b) {
        lastId = nextId();
        inFlight.put(lastId, b);
        bytes += b.length;
    }

    /** Why the peer's DONE for {@code id} breaks the protocol, or null (a read-flow block in flight). */
    String whyNotDone(int id) {
        Block b = inFlight.get(id);
        return b == null ? "DONE for block " + id + ", which is not in flight"
                : b.exposed == null ? "DONE for block " + id + ", which moves by RDMA write" : null;
    }

    /**
     * Why the peer's WRITE_TARGET for {@code id} breaks the protocol, or null: then the block (a
     * write-flow block in flight without a target so far) is marked targeted and returned by {@link #get}.
     */
    String whyNotTarget(int id) {
        Block b = inFlight.get(id);
        String bad = b == null ? "WRITE_TARGET for block " + id + ", which is not in flight"
                : b.local == null ? "WRITE_TARGET for block " + id + ", which moves by RDMA read"
                : b.targeted ? "WRITE_TARGET for block " + id + ", which has its target already" : null;
        if (bad == null) {
            b.targeted = true;
        }
        return bad;
    }

    Block get(int id) {
        return inFlight.get(id);
    }

    /** The peer has block {@code id}: it leaves the blocks in flight. */
    Block finish(int id) {
        Block b = inFlight.remove(id);
        if (b != null) {
            bytes -= b.length;
        }
        return b;
    }

    boolean isEmpty() {
        return inFlight.isEmpty();
    }

    long bytes() {
        return bytes;
    }

    /** The connection ended; the socket's close releases the registrations. */
    void clear() {
        inFlight.clear();
        bytes = 0;
    }
}
