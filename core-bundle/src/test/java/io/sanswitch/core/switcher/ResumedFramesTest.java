package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * {@link ResumedFrames}: a moved session's frames read as the resume socket's receives bring them,
 * cut anywhere; a DATA payload handed on in the pieces that arrived, without waiting for its frame to
 * be whole; the peer's lengths checked before anything is taken (docs/security.md SEC-5).
 */
class ResumedFramesTest {
    private static byte[] random(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void data(ByteArrayOutputStream wire, byte[] payload) {
        wire.writeBytes(Frames.encode(new Frame.Data(ByteBuffer.wrap(payload))).array());
    }

    private static void ack(ByteArrayOutputStream wire, long received) {
        wire.writeBytes(Frames.encode(new Frame.Ack(received)).array());
    }

    @Test
    void framesCutAnywhereReadAsWhole() {
        byte[] a = random(100 * 1024, 1);
        byte[] b = random(Frames.MAX_DATA, 2);
        byte[] c = random(1, 3);
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        ack(wire, 7);
        data(wire, a);
        data(wire, b);
        ack(wire, 123_456_789_012L);
        data(wire, c);
        ack(wire, Long.MAX_VALUE);
        byte[] bytes = wire.toByteArray();
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        payload.writeBytes(a);
        payload.writeBytes(b);
        payload.writeBytes(c);
        List<String> expected = List.of("ACK 7 after 0", "ACK 123456789012 after " + (a.length + b.length),
                "ACK " + Long.MAX_VALUE + " after " + payload.size());
        for (int seed = 0; seed < 20; seed++) {
            Random cuts = new Random(seed);
            FramesSeen seen = new FramesSeen();
            ResumedFrames frames = new ResumedFrames();
            int at = 0;
            while (at < bytes.length) {
                // Seed 0 cuts after every byte: each header byte arrives on its own.
                int n = seed == 0 ? 1 : Math.min(bytes.length - at, 1 + cuts.nextInt(seed % 2 == 0 ? 12 : 300_000));
                // A receive's own buffer, as the resume socket's receives have: read in place, rearranged.
                ByteBuffer receive = ByteBuffer.allocate(n).put(bytes, at, n).flip();
                assertTrue(frames.read(receive, seen));
                assertFalse(receive.hasRemaining(), "every byte of a receive is read");
                at += n;
            }
            assertEquals(expected, seen.events, "seed " + seed);
            assertArrayEquals(payload.toByteArray(), seen.data.toByteArray(), "seed " + seed);
        }
    }

    @Test
    void aPayloadIsHandedOnAsItArrives() {
        byte[] p = random(5000, 4);
        byte[] frame = Frames.encode(new Frame.Data(ByteBuffer.wrap(p))).array();
        FramesSeen seen = new FramesSeen();
        ResumedFrames frames = new ResumedFrames();
        assertTrue(frames.read(ByteBuffer.wrap(frame, 0, Frames.DATA_HEADER + 1000), seen));
        assertEquals(List.of(1000), seen.pieces, "the first 1000 bytes, not the frame once whole");
        assertTrue(frames.read(ByteBuffer.wrap(frame, Frames.DATA_HEADER + 1000, 4000), seen));
        assertEquals(List.of(1000, 4000), seen.pieces);
        assertArrayEquals(p, seen.data.toByteArray());
    }

    @Test
    void theDataOfOneReceiveIsHandedOnInOnePieceOverTheHeadersBetween() {
        byte[] a = random(100, 5);
        byte[] b = random(200, 6);
        byte[] c = random(50, 7);
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        data(wire, a);
        data(wire, b);
        ack(wire, 9);
        data(wire, c);
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        payload.writeBytes(a);
        payload.writeBytes(b);
        payload.writeBytes(c);
        FramesSeen seen = new FramesSeen();
        assertTrue(new ResumedFrames().read(ByteBuffer.wrap(wire.toByteArray()), seen));
        assertEquals(List.of(300, 50), seen.pieces, "the DATA before the ACK in one piece, then the rest");
        assertEquals(List.of("ACK 9 after 300"), seen.events);
        assertArrayEquals(payload.toByteArray(), seen.data.toByteArray());
        // A buffer that cannot be rearranged: a piece per frame, as they are.
        FramesSeen asTheyAre = new FramesSeen();
        assertTrue(new ResumedFrames().read(ByteBuffer.wrap(wire.toByteArray()).asReadOnlyBuffer(), asTheyAre));
        assertEquals(List.of(100, 200, 50), asTheyAre.pieces);
        assertArrayEquals(payload.toByteArray(), asTheyAre.data.toByteArray());
    }

    private static List<String> eventsOf(byte[]... receives) {
        FramesSeen seen = new FramesSeen();
        ResumedFrames frames = new ResumedFrames();
        boolean goesOn = true;
        for (byte[] r : receives) {
            goesOn = frames.read(ByteBuffer.wrap(r), seen);
        }
        assertFalse(goesOn, "the reading stops");
        assertEquals(0, seen.data.size(), "nothing of a bad frame is handed on");
        return seen.events;
    }

    @Test
    void lengthsAndFramesThatBreakTheProtocolStopTheReading() {
        assertEquals(List.of("violation: DATA of 0 bytes (1.." + Frames.MAX_DATA + ")"),
                eventsOf(new byte[] {Frames.DATA, 0, 0}, new byte[] {0, 0, 9, 9, 9}, new byte[] {Frames.ACK}));
        ByteBuffer tooLong = ByteBuffer.allocate(Frames.DATA_HEADER + 4).put(Frames.DATA).putInt(Frames.MAX_DATA + 1);
        assertEquals(List.of("violation: DATA of " + (Frames.MAX_DATA + 1) + " bytes (1.." + Frames.MAX_DATA + ")"),
                eventsOf(tooLong.array()));
        ByteBuffer negativeAck = ByteBuffer.allocate(Frames.ACK_LENGTH).put(Frames.ACK).putLong(-1);
        assertEquals(List.of("violation: ACK of " + Long.toUnsignedString(-1) + " bytes (0.." + Long.MAX_VALUE + ")"),
                eventsOf(negativeAck.array()));
        assertEquals(List.of("violation: HELLO on a moved session"), eventsOf(new byte[] {Frames.HELLO, 1, 2}));
        assertEquals(List.of("violation: BLOCK on a moved session"), eventsOf(new byte[] {Frames.BLOCK}));
        assertEquals(List.of("violation: SESSION on a moved session"), eventsOf(new byte[] {Frames.SESSION, 1}));
        assertEquals(List.of("violation: frame type 99 (no such frame)"), eventsOf(new byte[] {99, Frames.DATA}));
        assertEquals(List.of("RESET after 0"), eventsOf(new byte[] {Frames.RESET, Frames.DATA, 0, 0, 0, 1, 42}));
    }
}
