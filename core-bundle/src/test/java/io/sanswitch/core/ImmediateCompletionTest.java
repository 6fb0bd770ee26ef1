package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.transport.PostedOperation;

/**
 * docs/rules.md OV-immediate (Q12): a backend that finishes a transfer inside its {@code post},
 * on the posting thread, before {@code post} returns (which the transport SPI forbids, but the
 * engine keeps the rule whatever its backend does). The SPI call still returns normally (that is
 * {@code WSA_IO_PENDING}), nothing is completed or upcalled while the call runs, and the operation
 * completes afterwards, once, in its mode.
 */
@Timeout(30)
class ImmediateCompletionTest extends EngineTestSupport {

    private static final long WAIT_SECONDS = 20;

    /** The thread inside a send or recv call right now, set and cleared by that thread around the call. */
    private volatile Thread inCall;
    /** Completion upcalls the switch saw on the posting thread while it was inside its call. */
    private final List<Overlapped> upcallsInsideTheCall = new CopyOnWriteArrayList<>();
    /** What the backend saw right after its report, still inside the call: "done" or an upcall count. */
    private final List<String> seenInsideTheCall = new CopyOnWriteArrayList<>();
    private SocketHandle socket;

    @BeforeEach
    void start() throws Exception {
        startup();
        socket = connectedSocket();
        upcalls.insideCompletion = ov -> {
            if (inCall == Thread.currentThread()) {
                upcallsInsideTheCall.add(ov);
            }
        };
        // The misbehaving backend: reports every operation as finished inside post, on the posting thread.
        transport.insidePost = op -> {
            for (ScriptedTransport.ScriptedSocket s : transport.sockets) {
                s.held.remove(op);
            }
            transport.events.operationCompleted(op, op.length());
            Overlapped ov = ((PendingOperation) op).overlapped();
            if (ov.isDone() || upcalls.completionsOf(ov) != 0) {
                seenInsideTheCall.add(ov + " done=" + ov.isDone() + " upcalls=" + upcalls.completionsOf(ov));
            }
        };
    }

    static Stream<Arguments> kindsAndModes() {
        return Stream.of(PostedOperation.Kind.SEND, PostedOperation.Kind.RECV)
                .flatMap(k -> Stream.of(Overlapped.Mode.values()).map(m -> Arguments.of(k, m)));
    }

    private Overlapped post(PostedOperation.Kind kind, Overlapped.Mode mode) throws Exception {
        MemoryHandle m = register(socket, 64);
        Overlapped ov = mode == Overlapped.Mode.NOTIFY ? Overlapped.notifying(kind) : Overlapped.polling(kind);
        inCall = Thread.currentThread();
        try {
            if (kind == PostedOperation.Kind.SEND) {
                engine.send(socket, new WsaBuf[] {WsaBuf.of(m)}, 0, ov);
            } else {
                engine.recv(socket, new WsaBuf[] {WsaBuf.of(m)}, ov);
            }
        } finally {
            inCall = null;
        }
        return ov;
    }

    @ParameterizedTest(name = "{0} in {1} mode")
    @MethodSource("kindsAndModes")
    @Checks("OV-immediate")
    void aTransferTheBackendFinishesInsideItsPostCompletesAfterTheCallOnceInItsMode(PostedOperation.Kind kind,
            Overlapped.Mode mode) throws Exception {
        Overlapped ov = post(kind, mode); // returned normally: WSA_IO_PENDING
        assertEquals(1, transport.journal("post").size(), "the backend saw the post (else this tested nothing)");
        assertEquals(List.of(), seenInsideTheCall, "completed while the posting call still ran");

        OverlappedResult r = engine.getOverlappedResult(socket, ov, true);
        assertTrue(r.isSuccess(), r.toString());
        assertEquals(64, r.bytesTransferred());
        // A notify-mode sentinel that also finished inside its post: its upcall is the positive
        // signal that every completion started before it has ended (they end in posting order).
        Overlapped sentinel = post(PostedOperation.Kind.SEND, Overlapped.Mode.NOTIFY);
        assertNotNull(sentinel.awaitResult(WAIT_SECONDS, TimeUnit.SECONDS), "sentinel completed");
        Eventually.until("the sentinel's completion upcall", () -> upcalls.completionsOf(sentinel) == 1);
        assertEquals(mode == Overlapped.Mode.NOTIFY ? 1 : 0, upcalls.completionsOf(ov), "completion upcalls of " + ov);
        assertEquals(List.of(), upcallsInsideTheCall, "completion upcalls made inside the posting call");
        assertEquals(List.of(), seenInsideTheCall, "completed while the posting call still ran");
    }

    @Test
    @Checks({"OV-immediate", "OV-failed-call"})
    void aPostThatFailsAfterTheBackendReportedInsideItCompletesNothing() throws Exception {
        transport.insidePost = transport.insidePost.andThen(op -> {
            throw new IllegalStateException("scripted: reported, then failed the post");
        });
        MemoryHandle m = register(socket, 64);
        Overlapped ov = Overlapped.notifying(null);
        assertWsa(io.sanswitch.spi.SpiCall.SEND.fallback(), () -> engine.send(socket, new WsaBuf[] {WsaBuf.of(m)}, 0, ov));
        assertFalse(ov.isInProgress(), "the overlapped is free again");
        assertFalse(ov.isDone(), "no outcome was published for a call that failed");
        assertEquals(0, engine.pendingOperations());
        engine.deregisterMemory(socket, m); // nothing pins it any more
        engine.cleanup();
        assertEquals(0, upcalls.completionsOf(ov), "no completion upcall for a call that failed");
    }
}
