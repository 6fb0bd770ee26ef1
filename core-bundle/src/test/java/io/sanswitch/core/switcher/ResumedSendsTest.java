package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * {@link ResumedSends} over a resume socket whose sends complete when the test says: several batches
 * in flight, retired in the order they were made whatever order they complete in; the application's
 * sends complete in order and only once every byte went; the retention's bound holds the sends back;
 * an ACK goes first, and one alone at a time (docs/migration.md section 4).
 */
class ResumedSendsTest {
    private static final int ACK_EVERY = 1000;
    private final HeldSocket socket = new HeldSocket();
    private final SendQueue queue = new SendQueue();
    private final List<Throwable> failures = new ArrayList<>();
    private final List<String> ranOn = new ArrayList<>();
    private final SharedBuffers batches = new SharedBuffers(ResumedSends.BATCH_BYTES, true, 8);
    private ResumedSends sends;

    private ResumedSends over(Retention retention) {
        Executor here = r -> {
            ranOn.add("here");
            r.run();
        };
        Executor later = r -> {
            ranOn.add("later");
            r.run();
        };
        sends = new ResumedSends(socket, queue, retention, ACK_EVERY, here, later, new ResumedSends.Owner() {
            @Override
            public void retired() {
                sends.pump();
            }

            @Override
            public void sendFailed(Throwable e) {
                failures.add(e);
            }

            @Override
            public boolean connectionEnded() {
                return !failures.isEmpty();
            }
        }, batches);
        return sends;
    }

    private static byte[] random(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private CompletableFuture<Integer> send(byte[] bytes) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        queue.add(ByteBuffer.wrap(bytes), done);
        return done;
    }

    @Test
    void severalBatchesGoAtOnceAndRetireInTheOrderTheyWereMade() {
        over(new Retention(64 << 20));
        byte[] a = random(1_500_000, 1);
        byte[] b = random(2_000_000, 2);
        byte[] c = random(3_000_000, 3);
        CompletableFuture<Integer> sentA = send(a);
        CompletableFuture<Integer> sentB = send(b);
        CompletableFuture<Integer> sentC = send(c);
        sends.received(0);
        sends.pump();
        assertTrue(socket.sends.size() > 1, "several batches in flight at once: " + socket.sends.size());
        assertEquals(ResumedSends.MAX_IN_FLIGHT, socket.sends.size());
        assertEquals(ResumedSends.MAX_IN_FLIGHT, sends.inFlight());
        for (HeldSocket.Call call : socket.sends) {
            assertTrue(call.buffer.remaining() <= ResumedSends.BATCH_BYTES);
        }
        // The second batch completes first: nothing is retired, the application's first send (which
        // the first two batches carry) does not complete.
        socket.sent(1);
        assertFalse(sentA.isDone(), "a send completes only once every batch up to its last byte went");
        assertEquals(ResumedSends.MAX_IN_FLIGHT, socket.sends.size(), "no batch retired, none more posted");
        socket.sent(0);
        assertTrue(sentA.isDone());
        assertFalse(sentB.isDone());
        assertEquals(ResumedSends.MAX_IN_FLIGHT + 2, socket.sends.size(), "the two retired batches' buffers went again");
        // The rest, last first.
        while (socket.sendsPending() > 0) {
            for (int i = socket.sends.size() - 1; i >= 0; i--) {
                if (!socket.sends.get(i).done.isDone()) {
                    socket.sent(i);
                }
            }
        }
        assertTrue(sentB.isDone() && sentC.isDone());
        assertTrue(sends.idle());
        assertTrue(ranOn.stream().allMatch("here"::equals), ranOn.toString());
        FramesSeen seen = FramesSeen.of(socket.wire());
        assertEquals(List.of("ACK 0 after 0"), seen.events, "the first batch states this side's count, first");
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        stream.writeBytes(a);
        stream.writeBytes(b);
        stream.writeBytes(c);
        assertArrayEquals(stream.toByteArray(), seen.data.toByteArray(), "every byte once, in order");
    }

    /**
     * docs/rules.md SW-migrate-buffers: a session that leaves its socket gives its idle batches back at
     * once, one in flight once its send is over, one whose send failed never (the socket may still read
     * it); the next session over the same switch takes them instead of allocating.
     */
    @Test
    @Checks("SW-migrate-buffers")
    void batchesGoBackWhenTheSocketIsDoneWithThemAndTheNextSessionTakesThem() {
        over(new Retention(64 << 20));
        send(random(5 * ResumedSends.BATCH_BYTES / 2, 9));
        sends.received(0);
        sends.pump();
        assertEquals(3, socket.sends.size(), "two and a half megabytes: three batches");
        Set<ByteBuffer> used = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        socket.sends.forEach(c -> used.add(c.buffer));
        socket.sent(0); // retired, idle: nothing more to send
        assertEquals(3, socket.sends.size());
        assertEquals(0, batches.kept(), "a session keeps its batches while it runs");

        sends.ended(); // the session moves on
        assertEquals(1, batches.kept(), "the idle batch went back at once");
        socket.sent(1);
        assertEquals(2, batches.kept(), "a batch in flight went back once its send was over");
        socket.sends.get(2).done.completeExceptionally(new IllegalStateException("reset"));
        assertEquals(2, batches.kept(), "not one whose send failed: the socket may still read it as it ends");
        sends.ended();
        assertEquals(2, batches.kept(), "ended once");

        HeldSocket next = new HeldSocket();
        ResumedSends after = new ResumedSends(next, queue, new Retention(64 << 20), ACK_EVERY, Runnable::run, Runnable::run,
                new ResumedSends.Owner() {
                    @Override
                    public void retired() {
                    }

                    @Override
                    public void sendFailed(Throwable e) {
                    }

                    @Override
                    public boolean connectionEnded() {
                        return false;
                    }
                }, batches);
        send(random(3 * ResumedSends.BATCH_BYTES, 10));
        after.received(0);
        after.pump();
        assertEquals(ResumedSends.MAX_IN_FLIGHT, next.sends.size());
        assertEquals(0, batches.kept(), "the next session took the two given back");
        assertEquals(2, next.sends.stream().filter(c -> used.contains(c.buffer)).count(),
                "and sends from them, not from new ones");
    }

    @Test
    void aFullRetentionHoldsTheSendsBackUntilAnAck() {
        Retention retention = new Retention(256 * 1024);
        over(retention);
        byte[] a = random(1 << 20, 4);
        CompletableFuture<Integer> sent = send(a);
        sends.received(0);
        sends.pump();
        assertEquals(1, socket.sends.size());
        socket.sent(0);
        assertEquals(1, socket.sends.size(), "nothing more while the retention is full");
        assertEquals(0, retention.room());
        assertFalse(sent.isDone());
        long offset = 0;
        while (!sent.isDone()) {
            offset = retention.sentOffset();
            assertEquals(null, retention.acknowledge(offset));
            sends.pump();
            socket.sent(socket.sends.size() - 1);
            assertTrue(retention.held() <= 256 * 1024);
        }
        assertEquals(4, socket.sends.size(), "three more batches, each as far as the retention had room");
        assertArrayEquals(a, FramesSeen.of(socket.wire()).data.toByteArray());
    }

    @Test
    void anAckGoesAloneOnlyFromAckEveryBytesOrWhenQuietOneAtATime() {
        over(new Retention(1 << 20));
        sends.received(100);
        sends.pump();
        assertEquals(1, socket.sends.size(), "the first states this side's count at once");
        assertEquals(Frames.ACK_LENGTH, socket.sends.get(0).buffer.remaining());
        sends.received(200);
        sends.pump();
        sends.received(300);
        sends.pump();
        socket.sent(0);
        assertEquals(1, socket.sends.size(), "200 bytes unacknowledged: the ACK waits for a batch to ride on");
        sends.ackAlone();
        sends.pump();
        assertEquals(2, socket.sends.size(), "quiet: it goes alone");
        sends.received(300 + ACK_EVERY);
        sends.pump();
        assertEquals(2, socket.sends.size(), "the next ACK alone waits for the one on its way");
        socket.sent(1);
        assertEquals(3, socket.sends.size(), "ackEveryBytes unacknowledged: it goes alone");
        socket.sent(2);
        sends.received(1400);
        CompletableFuture<Integer> sent = send(random(10, 8));
        sends.pump();
        socket.sent(3);
        assertTrue(sent.isDone());
        assertEquals(List.of("ACK 100 after 0", "ACK 300 after 0", "ACK " + (300 + ACK_EVERY) + " after 0", "ACK 1400 after 0"),
                FramesSeen.of(socket.wire()).events, "an owed ACK rides on the next batch, first");
        sends.pump();
        assertEquals(4, socket.sends.size(), "nothing owed, nothing sent");
    }

    @Test
    void whatIsSentAgainGoesBeforeTheQueuedSendsAndIsNotKeptTwice() {
        Retention retention = new Retention(1 << 20);
        over(retention);
        byte[] old = random(300_000, 5);
        retention.data(ByteBuffer.wrap(old));
        retention.replayFrom(0, sends::replay);
        byte[] next = random(1000, 6);
        CompletableFuture<Integer> sent = send(next);
        sends.received(0);
        sends.pump();
        while (socket.sendsPending() > 0) {
            socket.sent(socket.sends.size() - 1);
        }
        assertTrue(sent.isDone());
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        stream.writeBytes(old);
        stream.writeBytes(next);
        assertArrayEquals(stream.toByteArray(), FramesSeen.of(socket.wire()).data.toByteArray());
        assertEquals(old.length + next.length, retention.sentOffset());
    }

    @Test
    void aFailedSendIsReportedOffTheCompletingThread() {
        over(new Retention(1 << 20));
        CompletableFuture<Integer> sent = send(random(10, 7));
        sends.pump();
        WsaException reset = new WsaException(WsaError.WSAECONNRESET, "gone");
        socket.sends.get(0).done.completeExceptionally(reset);
        assertEquals(List.of("later"), ranOn);
        assertEquals(1, failures.size());
        Throwable e = failures.get(0) instanceof CompletionException ce ? ce.getCause() : failures.get(0);
        assertSame(reset, e);
        assertFalse(sent.isDone(), "the connection's end fails it, not the batch");
    }
}
