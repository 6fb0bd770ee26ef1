package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

import io.sanswitch.api.SwitchSocket;

/**
 * Carries one side of a {@link ResumeHandshake} over a socket: sends what a step says, reads exactly
 * the bytes the next step expects (a loop of receives into a buffer of that fixed length: nothing the
 * peer says sizes it), hands them to the side, until it succeeds or fails. On a failure the socket is
 * closed: gracefully after a refusal (so the peer reads it), abortively otherwise. On success the
 * socket stays open for whoever resumes the session over it. Never blocks: everything runs in the
 * socket's completions.
 */
final class ResumeConversation {

    /** How a handshake ended: the peer's received count, or why it failed. */
    record Outcome(long peerReceived, String failure) {
        static Outcome failed(String reason) {
            return new Outcome(-1, reason);
        }

        boolean succeeded() {
            return failure == null;
        }
    }

    private final SwitchSocket socket;
    private final Function<byte[], ResumeHandshake.Step> side;
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    /** Completes when the side paused for its count (a dialer ahead of a move back). */
    private final CompletableFuture<Void> paused = new CompletableFuture<>();

    ResumeConversation(SwitchSocket socket, Function<byte[], ResumeHandshake.Step> side) {
        this.socket = socket;
        this.side = side;
    }

    SwitchSocket socket() {
        return socket;
    }

    /** Runs the handshake from {@code first}; the outcome completes once, on a socket completion or {@link #expire}. */
    CompletableFuture<Outcome> run(ResumeHandshake.Step first) {
        step(first);
        return outcome;
    }

    /** Completes when the side paused (docs/rules.md SW-migrate-back: a dialer ahead of the move back). */
    CompletableFuture<Void> paused() {
        return paused;
    }

    /** Goes on from a pause with {@code next}. */
    void resume(ResumeHandshake.Step next) {
        step(next);
    }

    /** Ends the handshake now (its time is up, or the port closes): failed with {@code reason}, socket reset. */
    void expire(String reason) {
        if (outcome.complete(Outcome.failed(reason))) {
            socket.abort();
        }
    }

    private void step(ResumeHandshake.Step s) {
        if (outcome.isDone()) {
            return;
        }
        if (s.send() == null) {
            after(s);
            return;
        }
        socket.send(ByteBuffer.wrap(s.send())).whenComplete((n, e) -> {
            if (e != null) {
                fail("sending failed: " + cause(e), false);
            } else {
                after(s);
            }
        });
    }

    private void after(ResumeHandshake.Step s) {
        if (s.failed()) {
            fail(s.failure(), s.send() != null);
        } else if (s.paused()) {
            paused.complete(null);
        } else if (s.succeeded()) {
            outcome.complete(new Outcome(s.peerReceived(), null));
        } else {
            read(ByteBuffer.allocate(s.expect()));
        }
    }

    private void read(ByteBuffer into) {
        if (outcome.isDone()) {
            return;
        }
        socket.receive(into).whenComplete((n, e) -> {
            if (e != null) {
                fail("receiving failed: " + cause(e), false);
            } else if (n < 0) {
                fail("the peer closed after " + into.position() + " of " + into.capacity() + " bytes", false);
            } else if (into.hasRemaining()) {
                read(into);
            } else {
                step(side.apply(into.array()));
            }
        });
    }

    private void fail(String reason, boolean refused) {
        if (!outcome.complete(Outcome.failed(reason))) {
            return;
        }
        if (refused) {
            socket.close(); // the refusal was sent: the peer reads it, then the end
        } else {
            socket.abort();
        }
    }

    private static String cause(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return String.valueOf(c.getMessage() != null ? c.getMessage() : c);
    }
}
