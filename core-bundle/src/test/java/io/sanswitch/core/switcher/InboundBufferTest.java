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
}
