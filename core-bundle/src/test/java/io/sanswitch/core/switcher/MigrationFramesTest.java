package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/** The SESSION and ACK frames and HELLO's migrate flag on the wire (docs/migration.md sections 2 and 5). */
class MigrationFramesTest {
    @Test
    void helloCarriesTheMigrateFlagInBitOne() {
        assertArrayEquals(new byte[] {5, 1, 3}, Frames.encode(new Frame.Hello(true, true)).array());
        assertArrayEquals(new byte[] {5, 1, 2}, Frames.encode(new Frame.Hello(false, true)).array());
        assertArrayEquals(new byte[] {5, 1, 1}, Frames.encode(new Frame.Hello(true)).array(), "unchanged without migration");
        assertEquals(new Frame.Hello(false, true), Frames.decode(ByteBuffer.wrap(new byte[] {5, 1, 2})));
        assertInstanceOf(Frames.Violation.class, Frames.decode(ByteBuffer.wrap(new byte[] {5, 1, 8})));
    }

    @Test
    @Checks("SW-migrate-frames")
    void sessionHasItsFixedLayout() {
        byte[] id = new byte[16];
        byte[] secret = new byte[32];
        id[0] = 9;
        secret[31] = 7;
        ByteBuffer wire = Frames.encode(new Frame.Session(id, secret, 65_000));
        assertEquals(51, wire.remaining());
        assertEquals(10, wire.get(0));
        assertEquals((short) 65_000, wire.getShort(49));
        assertEquals(Frames.NeedMore.NEED_MORE, Frames.decode(wire.duplicate().limit(50)));
        Frame.Session s = assertInstanceOf(Frame.Session.class, Frames.decode(wire));
        assertArrayEquals(id, s.id());
        assertArrayEquals(secret, s.secret());
        assertEquals(65_000, s.resumePort());
    }

    @Test
    @Checks("SW-migrate-frames")
    void anAckAboveTheLargestOffsetIsAViolation() {
        ByteBuffer wire = ByteBuffer.allocate(9).put(Frames.ACK).putLong(-1).flip();
        assertInstanceOf(Frames.Violation.class, Frames.decode(wire));
        assertEquals(0, wire.position(), "nothing consumed");
        ByteBuffer ok = Frames.encode(new Frame.Ack(1L << 40));
        assertEquals(new Frame.Ack(1L << 40), Frames.decode(ok));
    }
}
