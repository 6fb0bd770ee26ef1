package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/** The application's sends complete once every part is acknowledged, in order, and fail together at the end. */
class SendQueueTest {
    private final SendQueue sends = new SendQueue();

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static WsaError errorOf(CompletableFuture<Integer> f) {
        try {
            f.get();
            throw new AssertionError("completed normally");
        } catch (ExecutionException e) {
            return ((WsaException) e.getCause()).error();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aSendCompletesWithItsLengthOnceEveryPartIsAcknowledged() {
        ByteBuffer source = bytes("abcdef");
        CompletableFuture<Integer> done = new CompletableFuture<>();
        sends.add(source, done);
        SendQueue.Send s = sends.next();
        List<SendQueue.Segment> segments = new ArrayList<>();
        ByteBuffer wire = ByteBuffer.allocate(4);
        sends.copy(s, 4, wire, segments);
        assertEquals("abcd", new String(wire.array(), StandardCharsets.US_ASCII));
        assertSame(s, sends.next(), "two bytes are left");
        sends.copy(s, s.left(), ByteBuffer.allocate(2), segments);
        assertNull(sends.next(), "all taken");

        sends.acknowledge(segments.get(0).send(), segments.get(0).bytes());
        assertFalse(done.isDone());
        assertEquals(0, source.position(), "the source moves only when the send is complete");
        sends.acknowledge(segments.get(1).send(), segments.get(1).bytes());
        assertEquals(source.limit(), done.join());
        assertEquals(source.limit(), source.position());
        assertTrue(sends.isEmpty());
    }

    @Test
    void aRefusedSendFailsAloneAndTheNextGoesOn() {
        CompletableFuture<Integer> first = new CompletableFuture<>();
        CompletableFuture<Integer> second = new CompletableFuture<>();
        sends.add(bytes("first"), first);
        sends.add(bytes("second"), second);
        sends.refuse(sends.next(), new WsaException(WsaError.WSAENOBUFS, "test"));
        assertEquals(WsaError.WSAENOBUFS, errorOf(first));
        assertEquals("second".length(), sends.next().left());
        assertFalse(second.isDone());
    }

    @Test
    void failAllFailsEverySendNotCompleted() {
        CompletableFuture<Integer> taken = new CompletableFuture<>();
        CompletableFuture<Integer> waiting = new CompletableFuture<>();
        sends.add(bytes("taken"), taken);
        sends.add(bytes("waiting"), waiting);
        SendQueue.Send s = sends.next();
        sends.taken(s, s.left());
        sends.failAll(() -> new WsaException(WsaError.WSA_OPERATION_ABORTED, "test"));
        assertEquals(WsaError.WSA_OPERATION_ABORTED, errorOf(taken));
        assertEquals(WsaError.WSA_OPERATION_ABORTED, errorOf(waiting));
        assertTrue(sends.isEmpty());
        assertNull(sends.next());
    }

    @Test
    void thePlainStreamCopiesTheSendsAsTheyAreUpToTheBuffer() {
        CompletableFuture<Integer> a = new CompletableFuture<>();
        CompletableFuture<Integer> b = new CompletableFuture<>();
        sends.add(bytes("abc"), a);
        sends.add(bytes("defgh"), b);
        ByteBuffer out = ByteBuffer.allocate(6);
        List<SendQueue.Segment> segments = new ArrayList<>();
        assertTrue(new PlainStream(null, Integer.MAX_VALUE).fill(out, sends, segments));
        assertEquals("abcdef", new String(out.array(), StandardCharsets.US_ASCII));
        assertEquals(List.of(3, 3), segments.stream().map(SendQueue.Segment::bytes).toList());
        assertEquals("gh".length(), sends.next().left());
    }
}
