package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/** The received bytes of a connection wait in stream order, blocks included, and end with -1. */
class InboundBufferTest {
    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static String takeAll(InboundBuffer in, int chunk) {
        StringBuilder got = new StringBuilder();
        ByteBuffer into = ByteBuffer.allocate(chunk);
        for (int n = in.take(into); n > 0; n = in.take(into.clear())) {
            got.append(new String(into.array(), 0, n, StandardCharsets.US_ASCII));
        }
        return got.toString();
    }

    @Test
    void bytesComeOutInOrderInPiecesOfTheReceiversSize() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        in.add(bytes("hello "));
        in.add(bytes("world"));
        assertEquals("hello ".length() + "world".length(), in.buffered());
        assertEquals("hello world", takeAll(in, 4));
        assertEquals(0, in.buffered());
    }

    @Test
    void addCopiesSoTheReceiveBufferCanBeReused() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        ByteBuffer receiveBuffer = bytes("abc");
        in.add(receiveBuffer);
        receiveBuffer.clear().put(bytes("xyz"));
        assertEquals("abc", takeAll(in, 16));
    }

    /**
     * docs/rules.md SW-credit, docs/security.md SEC-2: a peer that cuts its stream into tiny pieces costs what it sends, not a
     * buffer per piece: small pieces are appended to the last copy while it has room, in order.
     */
    @Test
    @Checks("SW-credit")
    void tinyPiecesShareACopyAndComeOutInOrder() {
        InboundBuffer in = new InboundBuffer(1 << 30);
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < 300_000; i++) {
            in.add(one.clear().put((byte) i).flip());
        }
        assertEquals(300_000, in.buffered());
        assertTrue(in.chunkCount() <= 300_000 / InboundBuffer.COPY_BYTES + 1, in.chunkCount() + " pieces");
        ByteBuffer into = ByteBuffer.allocate(7_000);
        for (int at = 0; at < 300_000;) {
            int n = in.take(into.clear());
            into.flip();
            for (int k = 0; k < n; k++) {
                assertEquals((byte) (at + k), into.get(k), "byte " + (at + k));
            }
            at += n;
        }
        assertEquals(0, in.buffered());
    }

    /** A stream that runs ahead of its application reuses the copies it has taken instead of making garbage. */
    @Test
    void takenCopiesAreReused() {
        InboundBuffer in = new InboundBuffer(1 << 30);
        byte[] piece = new byte[InboundBuffer.COPY_BYTES];
        in.add(ByteBuffer.wrap(piece));
        in.add(ByteBuffer.wrap(piece));
        assertEquals(0, in.freeCopies());
        ByteBuffer into = ByteBuffer.allocate(InboundBuffer.COPY_BYTES);
        assertEquals(InboundBuffer.COPY_BYTES, in.take(into.clear()));
        assertEquals(1, in.freeCopies(), "the taken copy is kept");
        in.add(ByteBuffer.wrap(piece));
        assertEquals(0, in.freeCopies(), "and used for the next");
        for (int i = 0; i < 2 * InboundBuffer.COPIES_KEPT + 2; i++) {
            in.add(ByteBuffer.wrap(piece));
        }
        while (in.take(into.clear()) > 0) {
            assertTrue(in.freeCopies() <= InboundBuffer.COPIES_KEPT, in.freeCopies() + " kept");
        }
        assertEquals(InboundBuffer.COPIES_KEPT, in.freeCopies());
    }

    @Test
    void aBlockStillMovingHoldsBackWhatCameAfterIt() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        in.add(bytes("a"));
        InboundBuffer.Chunk block = in.reserve();
        in.add(bytes("c"));
        ByteBuffer into = ByteBuffer.allocate(8);
        assertEquals(1, in.take(into));
        assertEquals(0, in.take(into), "the block has not arrived: nothing to take, not the end");
        assertEquals(1, in.buffered(), "a block still moving does not count");

        in.fill(block, bytes("BB"));
        assertEquals(3, in.buffered());
        assertEquals("BBc", takeAll(in, 8));
    }

    @Test
    void aBlockReadStraightIntoAReceiveLeavesAnEmptyPlaceThatTheNextTakeSkips() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        InboundBuffer.Chunk block = in.reserve();
        in.add(bytes("after"));
        ByteBuffer into = ByteBuffer.allocate(16);
        assertEquals(0, in.take(into), "held back while the block moves");

        in.fill(block, ByteBuffer.allocate(0));

        assertEquals(5, in.take(into), "what came after the block, in the same take");
        assertEquals("after", new String(into.array(), 0, 5, StandardCharsets.US_ASCII));
        assertTrue(in.isEmpty());
    }

    @Test
    void theEndComesAfterTheLastBytesAndStays() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        in.add(bytes("last"));
        in.peerClosed();
        assertTrue(in.isPeerClosed());
        ByteBuffer into = ByteBuffer.allocate(16);
        assertEquals(4, in.take(into));
        assertArrayEquals(bytes("last").array(), java.util.Arrays.copyOf(into.array(), 4));
        assertEquals(-1, in.take(into.clear()));
        assertEquals(-1, in.take(into.clear()));
    }

    @Test
    void fullAtTheHighWaterMarkOfBytesThatArrived() {
        int highWater = 10;
        InboundBuffer in = new InboundBuffer(highWater);
        in.add(ByteBuffer.allocate(highWater - 1));
        assertFalse(in.full());
        in.reserve(); // a block announced but not here does not fill the buffer
        assertFalse(in.full());
        in.add(ByteBuffer.allocate(1));
        assertTrue(in.full());
        in.take(ByteBuffer.allocate(1));
        assertFalse(in.full());
    }

    @Test
    void clearDropsWhatWaits() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        in.add(bytes("dropped"));
        in.reserve();
        in.clear();
        assertEquals(0, in.buffered());
        assertEquals(0, in.take(ByteBuffer.allocate(8)));
    }

    @Test
    void blocksLentToReceivesDoNotHoldBackTheNextLendButBytesOrAPooledBlockDo() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        assertTrue(in.onlyLent());
        in.lend();
        in.lend();
        assertTrue(in.onlyLent(), "two blocks moving into receives: the next block's bytes are the next receive's");
        in.add(bytes("x"));
        assertFalse(in.onlyLent(), "bytes wait for a receive: a block after them is not the next receive's");

        InboundBuffer pooled = new InboundBuffer(Long.MAX_VALUE);
        pooled.lend();
        pooled.reserve();
        assertFalse(pooled.onlyLent(), "a block moving into a pooled buffer is ahead");
    }

    @Test
    void lentReceivesCompleteInStreamOrderWhateverOrderTheirReadsFinishIn() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        InboundBuffer.Chunk first = in.lend();
        InboundBuffer.Chunk second = in.lend();
        InboundBuffer.Chunk third = in.lend();
        in.add(bytes("tail"));
        java.util.List<String> completed = new java.util.ArrayList<>();

        in.lentRead(second, () -> completed.add("second"), () -> completed.add("second abandoned"));
        assertEquals(java.util.List.of(), completed, "the first block is still moving: the second receive waits for it");
        in.lentRead(first, () -> completed.add("first"), () -> completed.add("first abandoned"));
        assertEquals(java.util.List.of("first", "second"), completed);
        ByteBuffer into = ByteBuffer.allocate(8);
        assertEquals(0, in.take(into), "the bytes after the third block wait for it");
        in.lentRead(third, () -> completed.add("third"), () -> completed.add("third abandoned"));
        assertEquals(java.util.List.of("first", "second", "third"), completed);
        assertEquals("tail", takeAll(in, 8));
        assertTrue(in.isEmpty());
    }

    @Test
    void aLentReceiveWhoseReadIsDoneIsAbandonedWhenTheBufferIsClearedBeforeItIsNext() {
        InboundBuffer in = new InboundBuffer(Long.MAX_VALUE);
        in.lend(); // still moving: its read's own completion fails its receive
        InboundBuffer.Chunk second = in.lend();
        java.util.List<String> seen = new java.util.ArrayList<>();
        in.lentRead(second, () -> seen.add("completed"), () -> seen.add("abandoned"));
        assertEquals(java.util.List.of(), seen);

        in.clear();

        assertEquals(java.util.List.of("abandoned"), seen, "the connection ended: the receive fails rather than waiting forever");
    }
}
