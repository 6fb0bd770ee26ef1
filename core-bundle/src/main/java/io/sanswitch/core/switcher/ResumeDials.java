package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connector's dials at a move (docs/migration.md sections 4 and 6): the acceptor's resume port
 * dialled again while refused or unreachable, backing off, within the resume timeout
 * (docs/rules.md SW-migrate-connector-dials); a move back over the socket connected ahead or the RDMA
 * resume port, then the TCP one (SW-migrate-back). Any thread: it keeps no state of its own, each
 * dial's is in the future it completes. It logs as the switch.
 */
final class ResumeDials {
    private static final Logger LOG = LoggerFactory.getLogger(Switch.class);
    /** How long the connector waits before it dials a resume port again that refused it or could not be reached. */
    static final Duration REDIAL_FIRST = Duration.ofMillis(2);
    static final Duration REDIAL_MAX = Duration.ofMillis(50);
    private final Switch sw;

    ResumeDials(Switch sw) {
        this.sw = sw;
    }

    /** Dials the acceptor's resume port at {@code at} until the session resumes or the resume timeout passes. */
    CompletableFuture<ResumeDial.Resumed> dialResume(InetSocketAddress at, SessionId id, SessionKey key, long received) {
        CompletableFuture<ResumeDial.Resumed> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + sw.settings().migration().resumeTimeout().toNanos();
        dialUntil(result, at, false, id, key, received, deadline, REDIAL_FIRST);
        return result;
    }

    /**
     * docs/rules.md SW-migrate-back: the connector's move back proves over {@code ahead}, the resume
     * socket it connected (and began the handshake over) before the move began, or (none, or that handshake
     * failed) dials the peer's RDMA resume port, for half the resume timeout (again while refused: the
     * peer parks once it sees its TCP socket reset), then its TCP resume port for the other half, so
     * that a peer whose RDMA provider went meanwhile still gets the session over TCP.
     */
    CompletableFuture<ResumeDial.Resumed> dialBack(InetSocketAddress rdmaAt, InetSocketAddress tcpAt, SessionId id,
            SessionKey key, long received, ResumeDial ahead) {
        CompletableFuture<ResumeDial.Resumed> result = new CompletableFuture<>();
        long half = sw.settings().migration().resumeTimeout().toNanos() / 2;
        long deadline = System.nanoTime() + half;
        CompletableFuture<ResumeDial.Resumed> overRdma = new CompletableFuture<>();
        if (ahead == null) {
            dialUntil(overRdma, rdmaAt, true, id, key, received, deadline, REDIAL_FIRST);
        } else {
            ahead.prove(received, Duration.ofNanos(half)).whenComplete((r, e) -> {
                if (e == null) {
                    overRdma.complete(r);
                } else {
                    LOG.debug("session {}: the handshake over the socket connected ahead failed ({}); dialing {}", id,
                            ResumedStream.reason(e), rdmaAt);
                    dialUntil(overRdma, rdmaAt, true, id, key, received, deadline, REDIAL_FIRST);
                }
            });
        }
        overRdma.whenComplete((r, e) -> {
            if (e == null) {
                if (!result.complete(r)) {
                    r.socket().abort();
                }
                return;
            }
            LOG.info("session {}: the move back to {} failed ({}); resuming over TCP at {}", id, rdmaAt,
                    ResumedStream.reason(e), tcpAt);
            CompletableFuture<ResumeDial.Resumed> overTcp = new CompletableFuture<>();
            dialUntil(overTcp, tcpAt, false, id, key, received, System.nanoTime() + half, REDIAL_FIRST);
            overTcp.whenComplete((t, f) -> {
                if (f != null) {
                    result.completeExceptionally(f);
                } else if (!result.complete(t)) {
                    t.socket().abort();
                }
            });
        });
        return result;
    }

    /**
     * Dials until the resume succeeds or {@code deadline}: a refusal mostly means the peer has not
     * parked yet (it parks when its own carrier fails, a moment after ours), so the first dials again
     * follow quickly, then back off to {@link #REDIAL_MAX} (docs/rules.md SW-migrate-connector-dials).
     */
    private void dialUntil(CompletableFuture<ResumeDial.Resumed> result, InetSocketAddress at, boolean rdma, SessionId id,
            SessionKey key, long received, long deadline, Duration redial) {
        Duration left = Duration.ofNanos(Math.max(1, Math.min(deadline - System.nanoTime(),
                sw.settings().migration().resumeTimeout().toNanos())));
        ResumeDial.dial(sw, at, id, key, received, rdma, left).whenComplete((r, e) -> {
            if (e == null) {
                if (!result.complete(r)) {
                    r.socket().abort();
                }
            } else if (!sw.active || System.nanoTime() + redial.toNanos() >= deadline) {
                result.completeExceptionally(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
            } else {
                Duration next = redial.multipliedBy(2).compareTo(REDIAL_MAX) > 0 ? REDIAL_MAX : redial.multipliedBy(2);
                sw.schedule(() -> dialUntil(result, at, rdma, id, key, received, deadline, next), redial);
            }
        });
    }
}
