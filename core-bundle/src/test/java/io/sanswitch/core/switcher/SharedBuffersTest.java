package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/** docs/rules.md SW-credit: the copy buffers a switch's connections share are reused, up to their bound. */
class SharedBuffersTest {

    @Test
    @Checks("SW-credit")
    void aBufferGivenBackIsTheNextTakenAndNoMoreThanTheBoundAreKept() {
        SharedBuffers copies = new SharedBuffers(SharedBuffers.COPY_BYTES, false, 2);
        ByteBuffer a = copies.take();
        assertEquals(SharedBuffers.COPY_BYTES, a.capacity());
        a.put((byte) 1);
        copies.give(a);
        ByteBuffer again = copies.take();
        assertSame(a, again, "reused");
        assertEquals(0, again.position(), "cleared");
        copies.give(again);
        copies.give(ByteBuffer.allocate(SharedBuffers.COPY_BYTES));
        copies.give(ByteBuffer.allocate(SharedBuffers.COPY_BYTES));
        assertEquals(2, copies.kept(), "the bound");
        copies.give(ByteBuffer.allocate(7));
        assertEquals(2, copies.kept(), "a buffer of another size is not kept");
    }

    /** What a connection drops at a move or its end goes back too: two connections share what one gave. */
    @Test
    void droppedCopiesGoBackAndAnotherConnectionTakesThem() {
        SharedBuffers shared = new SharedBuffers(SharedBuffers.COPY_BYTES, false, 8);
        InboundBuffer one = new InboundBuffer(1 << 30, shared);
        InboundBuffer two = new InboundBuffer(1 << 30, shared);
        one.add(ByteBuffer.allocate(1000));
        one.add(ByteBuffer.allocate(SharedBuffers.COPY_BYTES));
        one.clear();
        assertEquals(2, shared.kept());
        two.add(ByteBuffer.allocate(SharedBuffers.COPY_BYTES));
        assertEquals(1, shared.kept(), "taken by the other connection");
        two.reserve(); // a block still moving
        two.add(ByteBuffer.allocate(10));
        assertEquals(0, shared.kept(), "the copy after the block took the last kept one");
        two.dropFromFirstMissing(); // a move: what comes after the block still moving is dropped
        assertEquals(1, shared.kept(), "the dropped copy went back");
        assertEquals(SharedBuffers.COPY_BYTES, two.buffered());
    }
}
