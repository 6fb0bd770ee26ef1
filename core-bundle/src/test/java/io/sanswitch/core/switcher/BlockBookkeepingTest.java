package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * The bookkeeping of the block flows: our ids run 1, 2, … and our blocks stay within what a receiver
 * accepts in flight ({@link OutgoingBlocks}); the peer's announcements are checked against the same
 * bounds and sequence ({@link IncomingBlocks}), and replies must match a block in flight.
 */
class BlockBookkeepingTest {
    private static final RdmaBufferDescriptor DESCRIPTOR = RdmaBufferDescriptor.of(new byte[] {1, 2, 3});

    private static final MemoryHandle LOCAL = new MemoryHandle() {
        @Override
        public int length() {
            return 1;
        }

        @Override
        public int access() {
            return 0;
        }
    };

    private static final BlockPool.Buffer EXPOSED = new BlockPool.Buffer(ByteBuffer.allocateDirect(1), null, DESCRIPTOR);

    private static final RegistrationCache.Lease LEASE = new RegistrationCache.Lease() {
        @Override
        public MemoryHandle handle() {
            return LOCAL;
        }

        @Override
        public int offset() {
            return 0;
        }

        @Override
        public void release() {
        }
    };

    private static SendQueue.Send aSend() {
        SendQueue q = new SendQueue();
        q.add(ByteBuffer.allocate(1), new CompletableFuture<>());
        return q.next();
    }

    @Test
    void ourBlocksStayWithinTheBlocksAReceiverAcceptsInFlight() {
        OutgoingBlocks out = new OutgoingBlocks();
        int block = Frames.MAX_BLOCK;
        long fit = Frames.MAX_BLOCK_BYTES_IN_FLIGHT / block;
        for (int i = 1; i <= fit; i++) {
            assertTrue(out.mayStart(block));
            assertEquals(i, out.nextId());
            out.started(OutgoingBlocks.Block.read(aSend(), block, EXPOSED));
        }
        assertFalse(out.mayStart(1), "the bytes in flight are at their bound");
        out.finish(1);
        assertTrue(out.mayStart(block));
        assertEquals(Frames.MAX_BLOCK_BYTES_IN_FLIGHT - block, out.bytes());
    }

    @Test
    void ourBlocksStayWithinThisSidesPipelineButAFirstBlockAlwaysGoes() {
        OutgoingBlocks out = new OutgoingBlocks(3 << 20);
        int block = 1 << 20;
        for (int i = 0; i < 3; i++) {
            assertTrue(out.mayStart(block), "block " + i);
            out.started(OutgoingBlocks.Block.read(aSend(), block, EXPOSED));
        }
        assertFalse(out.mayStart(1), "the pipeline is full");
        out.finish(1);
        out.finish(2);
        out.finish(3);
        assertTrue(out.mayStart(Frames.MAX_BLOCK), "a block larger than the pipeline goes when nothing else is in flight");
        out.started(OutgoingBlocks.Block.read(aSend(), Frames.MAX_BLOCK, EXPOSED));
        assertFalse(out.mayStart(1));
    }

    @Test
    void ourBlocksStayWithinTheCountInFlight() {
        OutgoingBlocks out = new OutgoingBlocks();
        for (int i = 0; i < Frames.MAX_BLOCKS_IN_FLIGHT; i++) {
            out.started(OutgoingBlocks.Block.read(aSend(), 1, EXPOSED));
        }
        assertFalse(out.mayStart(1));
    }

    @Test
    void repliesMustMatchABlockInFlightOfTheirFlow() {
        OutgoingBlocks out = new OutgoingBlocks();
        out.started(OutgoingBlocks.Block.read(aSend(), 1, EXPOSED));
        out.started(OutgoingBlocks.Block.write(aSend(), 1, LEASE));
        assertNull(out.whyNotDone(1));
        assertNotNull(out.whyNotDone(2), "block 2 moves by RDMA write");
        assertNotNull(out.whyNotDone(3), "block 3 is not in flight");
        assertNotNull(out.whyNotTarget(1), "block 1 moves by RDMA read");
        assertNull(out.whyNotTarget(2));
        assertNotNull(out.whyNotTarget(2), "a second WRITE_TARGET for the same block");
        out.finish(1);
        assertNotNull(out.whyNotDone(1), "a second DONE");
    }

    @Test
    void thePeersAnnouncementsFollowItsSequenceAndFlow() {
        IncomingBlocks in = new IncomingBlocks();
        assertNotNull(in.accept("BLOCK", 1, 1, false), "our HELLO asked for the other flow");
        assertNotNull(in.accept("BLOCK", 2, 1, true), "the first id is 1");
        assertNull(in.accept("BLOCK", 1, 1, true));
        assertNotNull(in.accept("BLOCK", 1, 1, true), "ids do not repeat");
        assertNull(in.accept("BLOCK", 2, 1, true));
        assertEquals(2, in.count());
    }

    @Test
    void thePeersBlocksStayWithinTheBoundsInFlight() {
        IncomingBlocks in = new IncomingBlocks();
        int id = 0;
        while (in.bytes() + Frames.MAX_BLOCK <= Frames.MAX_BLOCK_BYTES_IN_FLIGHT) {
            assertNull(in.accept("WRITE_REQ", ++id, Frames.MAX_BLOCK, true));
        }
        assertNotNull(in.accept("WRITE_REQ", id + 1, 1, true), "one byte beyond the bytes in flight");
        in.finished(Frames.MAX_BLOCK);
        assertNull(in.accept("WRITE_REQ", id + 1, 1, true), "the rejected id was not counted");

        IncomingBlocks many = new IncomingBlocks();
        for (int i = 1; i <= Frames.MAX_BLOCKS_IN_FLIGHT; i++) {
            assertNull(many.accept("BLOCK", i, 1, true));
        }
        assertNotNull(many.accept("BLOCK", Frames.MAX_BLOCKS_IN_FLIGHT + 1, 1, true));
    }

    @Test
    void aWriteDoneFinishesItsTargetOnce() {
        IncomingBlocks in = new IncomingBlocks();
        InboundBuffer inbound = new InboundBuffer(Long.MAX_VALUE);
        int length = 7;
        assertNull(in.accept("WRITE_REQ", 1, length, true));
        in.exposed(1, new IncomingBlocks.Target(inbound.reserve(), null, length));
        assertNotNull(in.written(1));
        assertEquals(0, in.count());
        assertEquals(0, in.bytes());
        assertNull(in.written(1), "a second WRITE_DONE has no target");
    }
}
