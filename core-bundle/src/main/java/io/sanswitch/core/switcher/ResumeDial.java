package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Future;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;

/**
 * The connector's side of a resume (docs/migration.md sections 3 and 4): connects over the TCP provider
 * to the peer's resume port and runs the dialer's handshake, all within {@code resumeTimeoutMillis}.
 * The result is the socket and the bytes the peer has received of this side's stream, or
 * {@code WSAECONNRESET} with the reason (refused, timed out, bad proof, could not connect): the
 * connection then fails as it would have without migration (docs/rules.md SW-migrate-proof).
 */
final class ResumeDial {

    /** A resumed session's new socket and how much of this side's stream the peer has received. */
    record Resumed(SwitchSocket socket, long peerReceived) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Switch sw;
    private final InetSocketAddress resumePort;
    private final SessionId id;
    private final ResumeHandshake.Dialer side;
    private final CompletableFuture<Resumed> result = new CompletableFuture<>();
    private final SerialQueue queue;
    /** Over the RDMA provider, to a move back's resume port (docs/migration.md section 6); else over TCP. */
    private final boolean rdma;
    private final Duration timeout;
    private ResumeConversation conversation;
    private boolean expired;

    private ResumeDial(Switch sw, InetSocketAddress resumePort, SessionId id, SessionKey key, long received, boolean rdma,
            Duration timeout) {
        this(sw, resumePort, id, new ResumeHandshake.Dialer(id, key, received, RANDOM), rdma, timeout);
    }

    private ResumeDial(Switch sw, InetSocketAddress resumePort, SessionId id, ResumeHandshake.Dialer side, boolean rdma,
            Duration timeout) {
        this.rdma = rdma;
        this.timeout = timeout;
        this.sw = sw;
        this.resumePort = resumePort;
        this.id = id;
        this.side = side;
        this.queue = sw.newQueue("resume dial " + resumePort);
    }

    /**
     * Dials {@code resumePort} to resume session {@code id}, stating {@code received} bytes of the
     * peer's stream received here.
     *
     * @throws IllegalArgumentException a negative {@code received}
     */
    static CompletableFuture<Resumed> dial(Switch sw, InetSocketAddress resumePort, SessionId id, SessionKey key,
            long received) {
        return dial(sw, resumePort, id, key, received, false, sw.settings().migration().resumeTimeout());
    }

    /**
     * {@link #dial} over the RDMA provider if {@code rdma} (a move back, docs/migration.md section 6),
     * else over TCP, within {@code timeout}.
     */
    static CompletableFuture<Resumed> dial(Switch sw, InetSocketAddress resumePort, SessionId id, SessionKey key,
            long received, boolean rdma, Duration timeout) {
        ResumeDial d = new ResumeDial(sw, resumePort, id, key, received, rdma, timeout);
        d.begin();
        return d.result;
    }

    /**
     * docs/rules.md SW-migrate-back: the handshake over {@code connected}, a resume socket connected to
     * {@code resumePort} over the RDMA provider, begun ahead of the move back: hello and challenge go
     * now, while the session still runs over TCP; the proof with this side's count when the move back
     * begins ({@link #prove}), so that the application waits for one round trip of it, not two.
     */
    static ResumeDial ahead(Switch sw, SwitchSocket connected, InetSocketAddress resumePort, SessionId id, SessionKey key) {
        ResumeDial d = new ResumeDial(sw, resumePort, id, ResumeHandshake.Dialer.ahead(id, key, RANDOM), true,
                sw.settings().migration().resumeTimeout());
        if (connected instanceof Connection resumeSocket) {
            // The session's batches go as blocks of this size: their first ones then register nothing.
            resumeSocket.prepareBlocks(ResumedSends.BATCH_BYTES);
        }
        d.queue.execute(() -> d.converse(connected));
        return d;
    }

    /**
     * A dial begun {@link #ahead}: the proof stating {@code received}, once hello and challenge are
     * done; the resume within {@code within} from now, or {@code WSAECONNRESET} with the reason.
     */
    CompletableFuture<Resumed> prove(long received, Duration within) {
        startTimer(within);
        queue.execute(() -> {
            if (result.isDone() || conversation == null) {
                return; // failed (and reset) before its pause
            }
            ResumeConversation c = conversation;
            c.paused().thenRun(() -> queue.execute(() -> c.resume(side.prove(received))));
        });
        return result;
    }

    /** A dial begun {@link #ahead} that no move back needs: its socket is reset. On any thread. */
    void abort() {
        queue.execute(() -> {
            expired = true;
            if (conversation != null) {
                conversation.expire("no move back needs it");
            }
            fail("no move back needs it", null);
        });
    }

    private void startTimer() {
        startTimer(timeout);
    }

    private void startTimer(Duration within) {
        Future<?> timer = sw.schedule(() -> queue.execute(() -> expire(within)), within);
        result.whenComplete((r, e) -> timer.cancel(false));
    }

    private void begin() {
        startTimer();
        BoundProvider over = rdma ? sw.rdmaProvider() : sw.tcpProvider();
        if (over == null) {
            fail(rdma ? "no RDMA provider runs" : "no TCP provider runs", null);
            return;
        }
        sw.connectForResume(resumePort, over.name).whenComplete((s, e) -> queue.execute(() -> {
            if (e != null) {
                fail("could not connect: " + cause(e), null);
            } else {
                converse(s);
            }
        }));
    }

    /** On the queue: the handshake over {@code s}, connected to the resume port. */
    private void converse(SwitchSocket s) {
        if (expired || result.isDone()) {
            s.abort();
            return;
        }
        conversation = new ResumeConversation(s, side::received);
        conversation.run(side.start()).whenComplete((o, f) -> {
            if (o.succeeded()) {
                if (!result.complete(new Resumed(s, o.peerReceived()))) {
                    s.abort();
                }
            } else {
                fail(o.failure(), null); // the conversation closed the socket
            }
        });
    }

    /** On the queue: the time is up; a handshake under way is reset, a connect still running is aborted when it ends. */
    private void expire(Duration timeout) {
        expired = true;
        String why = "timed out: no resume within " + timeout.toMillis() + " ms";
        if (conversation != null) {
            conversation.expire(why);
        }
        fail(why, null);
    }

    private void fail(String reason, Throwable cause) {
        result.completeExceptionally(new WsaException(WSAECONNRESET,
                "resume of session " + id + " at " + resumePort + " failed: " + reason, cause));
    }

    private static String cause(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return String.valueOf(c.getMessage() != null ? c.getMessage() : c);
    }
}
