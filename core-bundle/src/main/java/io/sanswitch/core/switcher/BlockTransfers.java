package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAENOBUFS;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;

import java.nio.ByteBuffer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The large blocks of one framed connection, both ways, which move by RDMA (spec 6.7). The flow is
 * the receiver's choice, told in its HELLO:
 * <ul>
 * <li>read flow: the sender exposes the block and announces it (BLOCK); the receiver RDMA-reads it
 * and says DONE;</li>
 * <li>write flow: the sender announces it (WRITE_REQ); the receiver exposes a target
 * (WRITE_TARGET); the sender RDMA-writes the block into it and says WRITE_DONE.</li>
 * </ul>
 * Ids and blocks in flight are kept by {@link OutgoingBlocks} and {@link IncomingBlocks}; failures go
 * to the connection's one policy ({@link Connection#failed}). Owned by the connection's queue.
 */
final class BlockTransfers {
    private static final Logger LOG = LoggerFactory.getLogger(BlockTransfers.class);

    /** A provider call that releases a registration. */
    @FunctionalInterface
    private interface Release {
        void run() throws WsaException;
    }

    private final Connection c;
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final FramedStream stream;
    private final SendQueue sends;
    private final InboundBuffer inbound;
    /** Our HELLO's choice: the peer's blocks come by RDMA read (else by the peer's RDMA write). */
    private final boolean readsBlocks;
    private final long maxBlock;
    private final OutgoingBlocks outgoing = new OutgoingBlocks();
    private final IncomingBlocks incoming = new IncomingBlocks();

    BlockTransfers(Connection c, FramedStream stream, SendQueue sends, InboundBuffer inbound, boolean readsBlocks,
            long maxBlock) {
        this.c = c;
        this.spi = c.spi;
        this.handle = c.handle;
        this.stream = stream;
        this.sends = sends;
        this.inbound = inbound;
        this.readsBlocks = readsBlocks;
        this.maxBlock = maxBlock;
    }

    boolean readsBlocks() {
        return readsBlocks;
    }

    // ------------------------------------------------------------------ our blocks

    /** The length of the next block of {@code s}: at most {@link #maxBlock} bytes. */
    private int nextLength(SendQueue.Send s) {
        return (int) Math.min(s.left(), maxBlock);
    }

    /** Whether the next block of {@code s} stays within the blocks a receiver accepts in flight. */
    boolean mayStart(SendQueue.Send s) {
        return outgoing.mayStart(nextLength(s));
    }

    /**
     * Starts moving the next block of {@code s} (the head of the sends) by RDMA and writes its
     * announcement into {@code out}.
     *
     * @param peerReadsBlocks the peer's HELLO: the read flow (else the write flow)
     * @return {@code false} if the connection ended
     */
    boolean start(SendQueue.Send s, ByteBuffer out, boolean peerReadsBlocks) {
        int length = nextLength(s);
        ByteBuffer part = sends.peek(s, length);
        ByteBuffer block = part.isDirect() ? part.slice() : ByteBuffer.allocateDirect(length).put(part).flip();
        int id = outgoing.nextId();
        try {
            if (peerReadsBlocks) {
                RdmaBufferDescriptor exposed = spi.registerRdmaMemory(handle, block, Winsock.MEM_READ);
                c.registered(1);
                if (exposed.length() > Frames.MAX_DESCRIPTOR) {
                    throw new WsaException(WSAENOBUFS, "descriptor of " + exposed.length() + " bytes");
                }
                new Frame.Block(id, length, exposed).writeTo(out);
                outgoing.started(OutgoingBlocks.Block.read(s, length, exposed));
            } else {
                MemoryHandle source = spi.registerMemory(handle, block, Winsock.MEM_READ);
                c.registered(1);
                new Frame.WriteReq(id, length).writeTo(out);
                outgoing.started(OutgoingBlocks.Block.write(s, length, source));
            }
        } catch (WsaException e) {
            // spec 6.7: a failed registration fails the application's send with WSAENOBUFS; once
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

    /** DONE (read flow): the peer has the block; our exposure ends (spec 6.7 step 3). */
    void done(int id) {
        String bad = outgoing.whyNotDone(id);
        if (bad != null) {
            c.protocolError(bad);
            return;
        }
        OutgoingBlocks.Block b = outgoing.finish(id);
        release("block " + id, () -> spi.deregisterRdmaMemory(handle, b.exposed));
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
            spi.rdmaWrite(handle, new WsaBuf[] {WsaBuf.of(b.local)}, target, 0, 0, c.whenDone(r -> {
                outgoing.finish(id);
                release("block " + id, () -> spi.deregisterMemory(handle, b.local));
                stream.control(new Frame.WriteDone(id));
                sends.acknowledge(b.send, b.length);
                c.pumpSend();
                c.finishCloseWhenIdle();
            }));
        } catch (WsaException e) {
            refusedWithDescriptor(e, "WRITE_TARGET for block " + id);
        }
    }

    // ------------------------------------------------------------------ the peer's blocks

    /** BLOCK (read flow, spec 6.7 step 2): RDMA-read the peer's block into registered memory. */
    void read(Frame.Block f) {
        if (!accepted("BLOCK", f.id(), f.length(), readsBlocks)) {
            return;
        }
        int id = f.id();
        int length = f.length();
        InboundBuffer.Chunk place = inbound.reserve();
        ByteBuffer target = ByteBuffer.allocateDirect(length);
        try {
            MemoryHandle m = spi.registerMemory(handle, target, Winsock.MEM_WRITE);
            c.registered(1);
            spi.rdmaRead(handle, new WsaBuf[] {WsaBuf.of(m)}, f.descriptor(), 0, 0, c.whenDone(r -> {
                release("a read target", () -> spi.deregisterMemory(handle, m));
                inbound.fill(place, target);
                incoming.finished(length);
                stream.control(new Frame.Done(id));
                c.pumpSend();
                c.deliver();
            }));
        } catch (WsaException e) {
            refusedWithDescriptor(e, "BLOCK " + id);
        }
    }

    /** WRITE_REQ (write flow, spec 6.7 step 1): expose a target for the peer's block. */
    void exposeTarget(Frame.WriteReq f) {
        if (!accepted("WRITE_REQ", f.id(), f.length(), !readsBlocks)) {
            return;
        }
        InboundBuffer.Chunk place = inbound.reserve();
        ByteBuffer target = ByteBuffer.allocateDirect(f.length());
        try {
            RdmaBufferDescriptor exposed = spi.registerRdmaMemory(handle, target, Winsock.MEM_WRITE);
            c.registered(1);
            incoming.exposed(f.id(), new IncomingBlocks.Target(place, target, exposed));
            stream.control(new Frame.WriteTarget(f.id(), exposed));
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
        release("a write target", () -> spi.deregisterRdmaMemory(handle, t.exposed()));
        inbound.fill(t.place(), t.memory());
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

    /** A registration the transfer no longer needs; failing that only costs it until the socket closes. */
    private void release(String what, Release call) {
        try {
            call.run();
            c.registered(-1);
        } catch (WsaException e) {
            LOG.debug("{}: deregistering {}: {}", c, what, e.error());
        }
    }
}
