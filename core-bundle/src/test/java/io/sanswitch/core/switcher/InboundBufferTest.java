package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

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
