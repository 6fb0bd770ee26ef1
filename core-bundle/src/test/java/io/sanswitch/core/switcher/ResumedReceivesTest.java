package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * {@link ResumedReceives} over a resume socket whose receives complete when the test says: a second
 * receive posted once one filled its buffer, the bytes handed on in the order the receives were made
 * whatever order they complete in, the end of the stream once (docs/migration.md section 4).
 */
class ResumedReceivesTest {
    private static final int BUFFER = 16;
    private final HeldSocket socket = new HeldSocket();
    private final List<String> seen = new ArrayList<>();
    private final List<String> ranOn = new ArrayList<>();
    private boolean wanted = true;
    private ResumedReceives receives;

    ResumedReceivesTest() {
        Executor here = r -> {
            ranOn.add("here");
            r.run();
        };
        Executor later = r -> {
            ranOn.add("later");
            r.run();
        };
        receives = new ResumedReceives(socket, BUFFER, here, later, () -> wanted, new ResumedReceives.Sink() {
            @Override
            public void received(ByteBuffer bytes) {
                seen.add(StandardCharsets.US_ASCII.decode(bytes).toString());
            }

            @Override
            public void peerEnded() {
                seen.add("end");
            }

            @Override
            public void receiveFailed(Throwable e) {
                Throwable t = e instanceof CompletionException ce ? ce.getCause() : e;
                seen.add("failed: " + ((WsaException) t).error().name());
            }

            @Override
            public boolean connectionEnded() {
                return seen.stream().anyMatch(s -> s.startsWith("failed"));
            }
        });
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void receivesCompletedOutOfOrderAreHandedOnInOrder() {
        receives.pump();
        assertEquals(1, socket.receives.size(), "a quiet connection keeps one receive");
        socket.arrive(0, ascii("0123456789abcdef"));
        assertEquals(List.of("0123456789abcdef"), seen);
        assertEquals(2, socket.receivesPending(), "a full buffer: more is coming, a second receive goes too");
        socket.arrive(2, ascii("second"));
        assertEquals(1, seen.size(), "the later receive waits for the earlier one");
        socket.arrive(1, ascii("first"));
        assertEquals(List.of("0123456789abcdef", "first", "second"), seen);
        assertEquals(2, socket.receivesPending());
        socket.arrive(3, null);
        socket.arrive(4, null);
        assertEquals(List.of("0123456789abcdef", "first", "second", "end"), seen, "the end of the stream, once");
        receives.pump();
        assertEquals(0, socket.receivesPending(), "nothing is posted after the end");
        assertEquals(List.of("here", "here", "here", "here", "here"), ranOn);
    }

    @Test
    void nothingIsPostedWhileTheApplicationLagsBehind() {
        wanted = false;
        receives.pump();
        assertEquals(0, socket.receives.size());
        wanted = true;
        receives.pump();
        assertEquals(1, socket.receives.size());
    }

    @Test
    void aFailedReceiveIsReportedOffTheCompletingThread() {
        receives.pump();
        WsaException reset = new WsaException(WsaError.WSAECONNRESET, "gone");
        socket.receives.get(0).done.completeExceptionally(reset);
        assertEquals(List.of("failed: WSAECONNRESET"), seen);
        assertEquals(List.of("later"), ranOn);
        assertSame(1, socket.receives.size());
    }
}
