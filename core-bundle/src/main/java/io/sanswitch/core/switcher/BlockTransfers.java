package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAENOBUFS;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;

import java.nio.ByteBuffer;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The large blocks of one framed connection, both ways, which move by RDMA (docs/rules.md BG-rdma-flows). The flow is
 * the receiver's choice, told in its HELLO:
 * <ul>
 * <li>read flow: the sender exposes the block and announces it (BLOCK); the receiver RDMA-reads it
 * and says DONE;</li>
 * <li>write flow: the sender announces it (WRITE_REQ); the receiver exposes a target
 * (WRITE_TARGET); the sender RDMA-writes the block into it and says WRITE_DONE.</li>
 * </ul>
 * Ids and blocks in flight are kept by {@link OutgoingBlocks} and {@link IncomingBlocks}; failures go
 * to the connection's one policy ({@link Connection#failed}). Registrations are kept between blocks
 * (each is a memory map in an RDMA provider): the application's direct buffers we RDMA-write from
 * in a {@link RegistrationCache}, the buffers the peer's blocks arrive in and those our read-flow
 * blocks are copied into in {@link BlockPool}s. Owned by the connection's queue.
 */
final class BlockTransfers {
    /**
     * The largest block this side sends: a larger send moves as several blocks in a pipeline, whose
     * buffers the pools keep (a 16 MiB block would be allocated and registered afresh each time). The
     * peer accepts blocks up to {@link Frames#MAX_BLOCK}.
     */
    static final int SENT_BLOCK = 1 << 20;
    /** The application buffers whose registration a connection keeps (count, bytes). */
    static final int CACHED_BUFFERS = 8;
    static final long CACHED_BYTES = 64L << 20;
    /**
     * Free block buffers a connection keeps per pool (two pools): enough for a pipeline of a few
     * 1 MiB blocks to reuse its buffers, little enough that many idle connections hold little
     * (docs/memory.md).
     */
    static final long POOLED_FREE_BYTES = 8L << 20;
    /**
     * This side's blocks in flight, in bytes: no more than a pool keeps, so that a long send reuses
     * the same staging buffers (read flow) and the peer's pooled targets block after block. With more in
     * flight every block beyond the pool's bound allocated, registered, exposed and then deregistered
     * a buffer of its own: a 16 MiB message over UCX took a 125 ms round trip instead of about 4 ms
     * (docs/performance.md, "16 MiB through the switch").
     */
    static final long PIPELINE_BYTES = POOLED_FREE_BYTES;

    private final Connection c;
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final FramedStream stream;
    private final SendQueue sends;
    private final InboundBuffer inbound;
    /** Our HELLO's choice: the peer's blocks come by RDMA read (else by the peer's RDMA write). */
    private final boolean readsBlocks;
    private final long maxBlock;
    private final OutgoingBlocks outgoing = new OutgoingBlocks(PIPELINE_BYTES);
    private final IncomingBlocks incoming = new IncomingBlocks();
    /** Write flow, our blocks: the application's buffers stay registered between blocks. */
    private final RegistrationCache sources;
    /**
     * Read flow, the peer's blocks: the application's direct receive buffers they are read straight
     * into, registered locally only (never exposed: docs/security.md SEC-9) and kept between blocks.
     */
    private final RegistrationCache receivers;
    /** The peer's blocks arrive in these buffers (registered, or in the write flow exposed, once). */
    private final BlockPool targets;
    /** Read flow, our blocks: copies of the application's bytes, exposed for the peer to read. */
    private final BlockPool staging;

    BlockTransfers(Connection c, Carrier k, FramedStream stream, SendQueue sends, InboundBuffer inbound, boolean readsBlocks,
            long maxBlock) {
        this.c = c;
        this.spi = k.spi;
        this.handle = k.handle;
        this.stream = stream;
        this.sends = sends;
        this.inbound = inbound;
        this.readsBlocks = readsBlocks;
        this.maxBlock = maxBlock;
        this.sources = new RegistrationCache(spi, handle, c::registered, Winsock.MEM_READ, CACHED_BUFFERS, CACHED_BYTES);
        this.receivers = new RegistrationCache(spi, handle, c::registered, Winsock.MEM_WRITE, CACHED_BUFFERS, CACHED_BYTES);
        this.targets = new BlockPool(spi, handle, c::registered, !readsBlocks, Winsock.MEM_WRITE, POOLED_FREE_BYTES,
                c::offQueue);
        this.staging = new BlockPool(spi, handle, c::registered, true, Winsock.MEM_READ, POOLED_FREE_BYTES, c::offQueue);
    }

    /**
     * docs/rules.md SW-migrate-back: buffers for a block of {@code length} bytes (at most the largest block)
     * each way, registered ahead off the connection's queue ({@link BlockPool#prepare}): one for the peer's
     * blocks, and one our blocks are copied into if the peer reads them.
     */
    void prepare(int length, boolean peerReadsBlocks) {
        int n = (int) Math.min(length, maxBlock);
        targets.prepare(n);
        if (peerReadsBlocks) {
            staging.prepare(n);
        }
    }

    boolean readsBlocks() {
        return readsBlocks;
    }

    // ------------------------------------------------------------------ our blocks

    /**
     * The smallest block a retention or the peer's window with less room cuts (docs/migration.md
     * section 5, docs/rules.md SW-credit): below it the block waits for an ACK or a CREDIT rather than
     * go in many small pieces.
     */
    static final int MIN_RETAINED_BLOCK = 64 * 1024;

    /**
     * The length of the next block of {@code s}: at most {@link #maxBlock} bytes, at most the room
     * left in the retention {@code kept} (null: none), which a block larger than the retention would
     * otherwise wait for forever, and at most {@code window}, the room in the peer's window.
     */
    private int nextLength(SendQueue.Send s, Retention kept, long window) {
        long length = Math.min(Math.min(s.left(), maxBlock), window);
        return (int) (kept == null ? length : Math.min(length, kept.room()));
    }

    /**
     * Whether the next block of {@code s} stays within the blocks a receiver accepts in flight.
     *
     * @param window the room in the peer's window (docs/rules.md SW-credit; Long.MAX_VALUE: no window)
     */
    boolean mayStart(SendQueue.Send s, Retention kept, long window) {
        int length = nextLength(s, kept, window);
        // docs/rules.md SW-migrate-exactly-once, SW-credit: a full retention or window holds the block back.
        boolean room = length == Math.min(s.left(), maxBlock) || length >= MIN_RETAINED_BLOCK;
        return length > 0 && room && outgoing.mayStart(length);
    }

    /**
     * Starts moving the next block of {@code s} (the head of the sends) by RDMA and writes its
     * announcement into {@code out}.
     *
     * @param peerReadsBlocks the peer's HELLO: the read flow (else the write flow)
     * @param kept the connection's retention, or null: the block's memory then stays until the peer
     *     acknowledges it, not only until it has the block (docs/migration.md section 5)
     * @param window the room in the peer's window (docs/rules.md SW-credit; Long.MAX_VALUE: no window)
     * @return {@code false} if the connection ended
     */
    boolean start(SendQueue.Send s, ByteBuffer out, boolean peerReadsBlocks, Retention kept, long window) {
        int length = nextLength(s, kept, window);
        ByteBuffer part = sends.peek(s, length);
        int id = outgoing.nextId();
        try {
            if (peerReadsBlocks) {
                // The peer may read an exposed buffer until it is deregistered, and a provider's
                // exposure is a registration of its own (UCX: a memory map and its packed key), so
                // exposing the application's buffer would cost a registration per block or leave it
                // readable after DONE. The block is copied into a pooled buffer exposed for this
                // peer only, which never holds anything but bytes sent to it (docs/security.md, SEC-9).
                BlockPool.Buffer copy = staging.take(length);
                if (copy.exposed.length() > Frames.MAX_DESCRIPTOR) {
                    staging.giveBack(copy);
                    throw new WsaException(WSAENOBUFS, "descriptor of " + copy.exposed.length() + " bytes");
                }
                copy.memory.clear();
                copy.memory.put(part);
                new Frame.Block(id, length, copy.exposed).writeTo(out);
                outgoing.started(OutgoingBlocks.Block.read(s, length, copy));
                if (kept != null) {
                    kept.block(copy.memory.duplicate().flip(), () -> staging.giveBack(copy));
                }
            } else {
                // Only registered locally: the cache keeps it for the application's next sends.
                boolean applications = part.isDirect();
                ByteBuffer from = applications ? part : ByteBuffer.allocateDirect(length).put(part).flip();
                RegistrationCache.Lease source = applications ? sources.lease(s.source(), part) : sources.once(from);
                new Frame.WriteReq(id, length).writeTo(out);
                outgoing.started(OutgoingBlocks.Block.write(s, length, source));
                if (kept != null) {
                    // The application's own buffer is kept by reference: its send completes only
                    // once the peer acknowledged the block, so it cannot change under the retention.
                    // A heap send's block is our copy: that send completes as before.
                    kept.block(from, () -> {
                        source.release();
                        if (applications) {
                            sends.acknowledge(s, length);
                        }
                    });
                }
            }
        } catch (WsaException e) {
            // docs/rules.md BG-rdma-flows: a failed registration fails the application's send with WSAENOBUFS; once
            // part of it is on the wire the stream cannot go on without it.
            if (c.providerGoing(e)) {
                return false;
            }
            if (e.error() == WSAENOTSOCK) {
                c.failed(e.error());
                return false;
            }
            if (!s.started()) {
                sends.refuse(s, new WsaException(WSAENOBUFS, "RDMA block not registered", e));
                return true;
            }
            c.failed(WSAENOBUFS);
            return false;
        }
        sends.taken(s, length);
        return true;
    }

    /** DONE (read flow): the peer has the block; our exposure ends (docs/rules.md BG-rdma-flows step 3). */
    void done(int id) {
        String bad = outgoing.whyNotDone(id);
        if (bad != null) {
            c.protocolError(bad);
            return;
        }
        OutgoingBlocks.Block b = outgoing.finish(id);
        if (!stream.retainsBlocks()) {
            staging.giveBack(b.exposed);
        }
        sends.acknowledge(b.send, b.length);
        c.pumpSend(); // room for the next block
        c.finishCloseWhenIdle();
    }

    /** WRITE_TARGET (write flow): RDMA-write the block into the peer's buffer, then WRITE_DONE. */
    void writeTo(int id, RdmaBufferDescriptor target) {
        String bad = outgoing.whyNotTarget(id);
        if (bad != null) {
            c.protocolError(bad);
            return;
        }
        OutgoingBlocks.Block b = outgoing.get(id);
        try {
            WsaBuf from = new WsaBuf(b.local.handle(), b.local.offset(), b.length);
            spi.rdmaWrite(handle, new WsaBuf[] {from}, target, 0, 0, c.whenDone(r -> {
                outgoing.finish(id);
                boolean retained = stream.retainsBlocks();
                if (!retained) {
                    b.local.release();
                }
                stream.control(new Frame.WriteDone(id));
                if (!retained || !b.send.direct()) {
                    sends.acknowledge(b.send, b.length);
                }
                c.pumpSend();
                c.finishCloseWhenIdle();
            }));
        } catch (WsaException e) {
            refusedWithDescriptor(e, "WRITE_TARGET for block " + id);
        }
    }

    // ------------------------------------------------------------------ the peer's blocks

    /**
     * BLOCK (read flow, docs/rules.md BG-rdma-flows step 2): RDMA-read the peer's block into registered memory: straight
     * into the application's receive if one waits with room for it and nothing but blocks lent to
     * earlier receives is ahead of the block (one copy less, and several such reads in flight: the
     * provider's own large receives work that way), else into a pooled buffer it is later copied out of.
     * A migrating connection lends too: a move fences the lent receives (docs/rules.md SW-migrate-fence).
     */
    void read(Frame.Block f) {
        if (!accepted("BLOCK", f.id(), f.length(), readsBlocks)) {
            return;
        }
        int id = f.id();
        int length = f.length();
        BlockLoans.Loan waiting = c.receiving.receiveForBlock(length);
        if (waiting != null && readInto(waiting, f)) {
            return;
        }
        InboundBuffer.Chunk place = inbound.reserve();
        stream.blockAnnounced(place, length);
        try {
            BlockPool.Buffer target = targets.take(length);
            spi.rdmaRead(handle, new WsaBuf[] {new WsaBuf(target.local, 0, length)}, f.descriptor(), 0, 0, c.whenDone(r -> {
                fill(place, target, length);
                read(id, length, place);
            }));
        } catch (WsaException e) {
            refusedWithDescriptor(e, "BLOCK " + id);
        }
    }

    /**
     * Reads the block into {@code loan}'s receive's own buffer. Its place in the stream holds back what
     * comes after it; the receive completes once the read is done and the receives lent before it
     * completed (in stream order), and fails only then if the connection ended meanwhile (the
     * provider writes no more into the buffer after its completion); at a move it waits for that
     * completion, fenced (docs/rules.md SW-migrate-fence).
     *
     * @return {@code false} if the buffer could not be registered: the block goes the pooled way
     *     (the receive is back at the head of the receives)
     */
    private boolean readInto(BlockLoans.Loan loan, Frame.Block f) {
        ByteBuffer into = loan.receive.into();
        int at = into.position();
        RegistrationCache.Lease target;
        try {
            target = receivers.lease(into, into.duplicate().limit(at + f.length()));
        } catch (WsaException e) {
            c.receiving.receiveNotLent(loan);
            return false;
        }
        InboundBuffer.Chunk place = inbound.lend();
        stream.blockAnnounced(place, f.length());
        try {
            spi.rdmaRead(handle, new WsaBuf[] {new WsaBuf(target.handle(), target.offset(), f.length())}, f.descriptor(),
                    0, 0, c.whenDoneSeeing(r -> {
                        target.release();
                        c.receiving.lentReadOver(loan, r.isSuccess());
                    }, r -> {
                        into.position(at + f.length());
                        inbound.lentRead(place, () -> c.receiving.receiveFilled(loan, f.length()), () -> c.receiving.receiveEnded(loan));
                        read(f.id(), f.length(), place);
                    }));
        } catch (WsaException e) {
            target.release();
            c.receiving.receiveNotLent(loan); // never posted: it fails with the others if the connection ends
            refusedWithDescriptor(e, "BLOCK " + f.id());
        }
        return true;
    }

    /** A block was read: the peer may reuse its buffer (DONE), the application gets what follows. */
    private void read(int id, int length, InboundBuffer.Chunk place) {
        incoming.finished(length);
        // DONE first: the ACK the block's count may call for then rides in DONE's send, after it
        // (docs/migration.md section 5), instead of a send of its own ahead of it.
        stream.control(new Frame.Done(id));
        stream.blockReceived(place);
        c.pumpSend();
        c.deliver();
    }

    /** WRITE_REQ (write flow, docs/rules.md BG-rdma-flows step 1): expose a target for the peer's block. */
    void exposeTarget(Frame.WriteReq f) {
        if (!accepted("WRITE_REQ", f.id(), f.length(), !readsBlocks)) {
            return;
        }
        InboundBuffer.Chunk place = inbound.reserve();
        stream.blockAnnounced(place, f.length());
        try {
            BlockPool.Buffer target = targets.take(f.length());
            incoming.exposed(f.id(), new IncomingBlocks.Target(place, target, f.length()));
            stream.control(new Frame.WriteTarget(f.id(), target.exposed));
            c.pumpSend();
        } catch (WsaException e) {
            c.refused(e);
        }
    }

    /** WRITE_DONE (write flow, step 3): the block is in our target; its exposure ends. */
    void targetWritten(int id) {
        IncomingBlocks.Target t = incoming.written(id);
        if (t == null) {
            c.protocolError("WRITE_DONE for block " + id + ", which has no target here");
            return;
        }
        fill(t.place(), t.buffer(), t.length());
        stream.blockReceived(t.place());
    }

    /** The block's bytes wait for the application; its buffer goes back to the pool once taken. */
    private void fill(InboundBuffer.Chunk place, BlockPool.Buffer b, int length) {
        inbound.fill(place, b.memory.duplicate().clear().limit(length), () -> targets.giveBack(b));
    }

    private boolean accepted(String frame, int id, int length, boolean flowAgreed) {
        String bad = incoming.accept(frame, id, length, flowAgreed);
        if (bad != null) {
            c.protocolError(bad);
        }
        return bad == null;
    }

    // ------------------------------------------------------------------ both

    /** Our blocks are all finished (the peer may still have some of its own on the way). */
    boolean idle() {
        return outgoing.isEmpty();
    }

    void clear() {
        outgoing.clear();
        incoming.clear();
        sources.forget();
        receivers.forget();
        targets.forget();
        staging.forget();
    }

    /** A pool's dropped buffers waiting for their deregistration are at its bound (docs/rules.md SW-close-off-io). */
    boolean releasesFull() {
        return targets.releasesFull() || staging.releasesFull();
    }

    RegistrationCache sources() {
        return sources;
    }

    BlockPool targets() {
        return targets;
    }

    /**
     * The provider checks the peer's descriptor (its backend, range and access) first: its
     * WSAEINVAL is the peer's fault, a protocol error (docs/security.md, SEC-5).
     */
    private void refusedWithDescriptor(WsaException e, String frame) {
        if (e.error() == WsaError.WSAEINVAL) {
            c.protocolError(frame + " with a descriptor the provider refused: " + e.getMessage());
        } else {
            c.refused(e);
        }
    }
}
