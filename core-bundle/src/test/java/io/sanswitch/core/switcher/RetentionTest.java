package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/**
 * {@link Retention} on its own: offsets, acknowledgements inside a segment, its bound, a replay from
 * the middle of a segment, and the offsets it refuses (docs/migration.md section 5).
 */
class RetentionTest {
    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] replay(Retention r, long from) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.replayFrom(from, b -> {
            assertTrue(b.isReadOnly());
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            out.write(chunk, 0, chunk.length);
        });
        return out.toByteArray();
    }

    @Test
    @Checks("SW-migrate-exactly-once")
    void dataAndBlocksAreKeptInStreamOrderUntilAcknowledged() {
        Retention r = new Retention(1 << 20);
        byte[] a = bytes(1000, 1);
        byte[] block = bytes(70_000, 2);
        byte[] c = bytes(300, 3);
        AtomicInteger released = new AtomicInteger();
        r.data(ByteBuffer.wrap(a));
        r.block(ByteBuffer.wrap(block), released::incrementAndGet);
        r.data(ByteBuffer.wrap(c));
        assertEquals(71_300, r.sentOffset());
        assertEquals(0, r.acknowledged());
        assertEquals(71_300, r.held());
        byte[] all = concat(a, block, c);
        assertArrayEquals(all, replay(r, 0));

        // Inside the first DATA segment, then inside the block: the block stays until its last byte.
        assertNull(r.acknowledge(400));
        assertArrayEquals(Arrays.copyOfRange(all, 400, all.length), replay(r, 400));
        assertNull(r.acknowledge(1000 + 69_999));
        assertEquals(0, released.get(), "a block partly acknowledged is kept");
        assertArrayEquals(Arrays.copyOfRange(all, 70_999, all.length), replay(r, 70_999));
        assertNull(r.acknowledge(71_000));
        assertEquals(1, released.get(), "given back once acknowledged");
        assertEquals(300, r.held());
        // From the middle of the last segment.
        assertArrayEquals(Arrays.copyOfRange(c, 123, 300), replay(r, 71_123));
        assertArrayEquals(new byte[0], replay(r, 71_300));
        assertNull(r.acknowledge(71_300));
        assertTrue(r.isEmpty());
        assertEquals(0, r.held());
    }

    @Test
    @Checks("SW-migrate-exactly-once")
    void offsetsOutsideWhatIsKeptFail() {
        Retention r = new Retention(1 << 20);
        r.data(ByteBuffer.wrap(bytes(500, 4)));
        assertNull(r.acknowledge(100));
        assertThrows(IllegalArgumentException.class, () -> r.replayFrom(99, b -> { }), "below what is kept");
        assertThrows(IllegalArgumentException.class, () -> r.replayFrom(501, b -> { }), "beyond what was sent");
        assertNotNull(r.acknowledge(99), "an ACK going backwards");
        assertNotNull(r.acknowledge(501), "an ACK beyond what was sent");
        assertEquals(100, r.acknowledged(), "a refused ACK changes nothing");
        assertNull(r.acknowledge(100), "the same ACK again is no error");
    }

    @Test
    @Checks("SW-migrate-exactly-once")
    void theBoundHoldsAndAnAcknowledgementMakesRoom() {
        Retention r = new Retention(256 << 10);
        byte[] chunk = bytes(100_000, 5);
        r.data(ByteBuffer.wrap(chunk));
        r.data(ByteBuffer.wrap(chunk));
        assertEquals((256 << 10) - 200_000, r.room());
        assertThrows(IllegalStateException.class, () -> r.data(ByteBuffer.wrap(chunk)), "beyond the bound");
        assertNull(r.acknowledge(150_000));
        r.data(ByteBuffer.wrap(chunk));
        assertEquals(150_000, r.held());
        assertArrayEquals(concat(Arrays.copyOfRange(chunk, 50_000, 100_000), chunk), replay(r, 150_000));
    }

    @Test
    void theRingWrapsAcrossChunksWithoutLosingBytes() {
        Retention r = new Retention(1 << 20);
        Random random = new Random(6);
        byte[] kept = new byte[0]; // the bytes from r.acknowledged() on
        for (int i = 0; i < 600; i++) {
            int n = 1 + random.nextInt((int) Math.min(70_000, r.room()));
            byte[] b = bytes(n, i);
            r.data(ByteBuffer.wrap(b));
            kept = concat(kept, b);
            long ack = r.acknowledged() + random.nextInt((int) (r.sentOffset() - r.acknowledged() + 1));
            kept = Arrays.copyOfRange(kept, (int) (ack - r.acknowledged()), kept.length);
            assertNull(r.acknowledge(ack));
            int skip = random.nextInt(kept.length + 1);
            assertArrayEquals(Arrays.copyOfRange(kept, skip, kept.length), replay(r, ack + skip), "from " + (ack + skip));
        }
    }

    /**
     * The ring is taken in chunks as the bytes come, and a steady stream after a burst takes no more:
     * one array grown by doubling allocated arrays up to the bound (humongous for G1) and copied its
     * bytes at each growth.
     */
    @Test
    void theRingGrowsByChunksAndAStreamReusesThem() {
        int bound = 16 << 20;
        Retention r = new Retention(bound);
        byte[] piece = bytes(100_000, 8);
        while (r.room() >= piece.length) {
            r.data(ByteBuffer.wrap(piece));
            assertTrue(r.ringBytes() <= r.held() + Retention.CHUNK, "taken as the bytes come: " + r.ringBytes());
        }
        assertTrue(r.held() > bound - piece.length);
        long highWater = r.ringBytes();
        assertNull(r.acknowledge(r.sentOffset() - 10));
        assertArrayEquals(Arrays.copyOfRange(piece, piece.length - 10, piece.length), replay(r, r.acknowledged()));
        for (int i = 0; i < 400; i++) {
            r.data(ByteBuffer.wrap(piece));
            assertNull(r.acknowledge(r.sentOffset() - 10));
        }
        assertEquals(highWater, r.ringBytes(), "a steady stream reuses the chunks");
        r.clear();
        assertEquals(0, r.ringBytes());
    }

    @Test
    void clearGivesEveryBlockBack() {
        Retention r = new Retention(1 << 20);
        AtomicInteger released = new AtomicInteger();
        r.block(ByteBuffer.allocateDirect(1000), released::incrementAndGet);
        r.data(ByteBuffer.wrap(bytes(10, 7)));
        r.block(ByteBuffer.allocateDirect(1000), released::incrementAndGet);
        r.clear();
        assertEquals(2, released.get());
        assertEquals(0, r.held());
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
