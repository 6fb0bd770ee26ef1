package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Generator;
import io.sanswitch.testing.Property;

/** The CREDIT frame's bounds and the window's counts (docs/rules.md SW-credit, docs/security.md SEC-13). */
class CreditWindowTest {
    private static final long WINDOW = CreditWindow.WINDOW;

    @Test
    @Checks("SW-credit")
    void helloCarriesTheCreditFlagInBitTwo() {
        assertArrayEquals(new byte[] {5, 1, 7}, Frames.encode(new Frame.Hello(true, true, true)).array());
        assertArrayEquals(new byte[] {5, 1, 4}, Frames.encode(new Frame.Hello(false, false, true)).array());
        assertEquals(new Frame.Hello(true, false, true), Frames.decode(ByteBuffer.wrap(new byte[] {5, 1, 5})));
        assertEquals(new Frame.Hello(true, false, false), Frames.decode(ByteBuffer.wrap(new byte[] {5, 1, 1})));
    }

    @Test
    @Checks("SW-credit")
    void aCreditIsOneToTheWindowAndAViolationOtherwise() {
        Generator<Integer> values = Generator.oneOf(Generator.anyInt(), Generator.ints(-2, 2), Generator.around((int) WINDOW),
                Generator.of(Integer.MIN_VALUE, Integer.MAX_VALUE));
        Property.forAll("a CREDIT is 1..WINDOW, a violation otherwise", 2000, values, v -> {
            ByteBuffer wire = ByteBuffer.allocate(5).put(Frames.CREDIT).putInt(v).flip();
            Frames.Decoded d = Frames.decode(wire);
            if (v < 1 || v > WINDOW) {
                assertInstanceOf(Frames.Violation.class, d, "CREDIT " + v);
                assertEquals(0, wire.position(), "a violation consumes nothing");
            } else {
                assertEquals(new Frame.Credit(v), d);
                assertEquals(5, wire.position());
            }
            assertEquals(Frames.NeedMore.NEED_MORE, Frames.decode(wire.clear().limit(4)), "four bytes are not a CREDIT");
        });
    }

    @Test
    @Checks("SW-credit")
    void theSenderHasTheWindowLessWhatIsNotCreditedAndNoMore() {
        CreditWindow w = new CreditWindow();
        assertEquals(WINDOW, w.room());
        w.sent(WINDOW - 10);
        assertEquals(10, w.room());
        w.sent(10);
        assertEquals(0, w.room());
        assertNull(w.credit(1 << 20));
        assertEquals(1 << 20, w.room());
        assertNotNull(w.credit((int) WINDOW), "a credit for more than is in flight");
        assertEquals(1 << 20, w.room(), "a refused credit counts for nothing");
    }

    @Test
    @Checks("SW-credit")
    void theReceiverGrantsEachQuarterConsumedAndRefusesWhatIsBeyondTheWindow() {
        CreditWindow w = new CreditWindow();
        assertNull(w.arrived(WINDOW));
        assertEquals(0, w.consumed(WINDOW / 4 - 1));
        assertEquals(WINDOW / 4, w.consumed(1));
        assertNull(w.arrived(WINDOW / 4), "granted again");
        assertNotNull(w.arrived(1), "one byte beyond what was granted");
    }
}
