package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;

import io.sanswitch.api.SwitchSocket;

/** What connections and listeners need from the switch that owns them. */
interface SwitchContext {
    SerialQueue newQueue(String name);

    /** The buffers bytes waiting for applications are copied to, shared by the connections (docs/rules.md SW-credit). */
    SharedBuffers copyBuffers();

    /** The direct buffers moved sessions' sends are batched in, shared by the connections (docs/rules.md SW-migrate-buffers). */
    SharedBuffers batchBuffers();

    /** Runs {@code task} once after {@code delay} on the switch's timer thread; it must only enqueue. */
    Future<?> schedule(Runnable task, Duration delay);

    SwitchSettings settings();

    /**
     * Where a provider's closeSocket, the deregistration of a dropped block buffer and a registration made
     * ahead run: the switch's close threads, never its io threads, whose other connections would wait
     * behind a call that waits for its peer (docs/rules.md SW-close-off-io). The same executor at every call.
     */
    Executor closes();

    /** Memory registrations the switch holds on provider sockets changed by {@code delta}. */
    void registrations(long delta);

    /** This switch's resume port, announced in SESSION frames (docs/migration.md section 3); 0: none open. */
    int resumePort();

    /** This switch's RDMA resume port for moves back (docs/migration.md section 6); 0: none listens now. */
    int returnPort();

    /** Whether an RDMA provider runs here for a move back. */
    boolean rdmaUp();

    /**
     * docs/migration.md section 6, the connector's side of a move back: dials the peer's RDMA resume
     * port at {@code rdmaAt}, and its TCP resume port at {@code tcpAt} if that fails.
     */
    CompletableFuture<ResumeDial.Resumed> dialBack(InetSocketAddress rdmaAt, InetSocketAddress tcpAt, SessionId id,
            SessionKey key, long received, ResumeDial ahead);

    /**
     * docs/rules.md SW-migrate-back: a resume socket to the peer's RDMA resume port at {@code rdmaAt},
     * connected over this switch's RDMA provider before the move back begins, with the handshake's
     * hello and challenge for session {@code id} begun over it (the proof waits for the move back).
     */
    CompletableFuture<ResumeDial> connectBack(InetSocketAddress rdmaAt, SessionId id, SessionKey key);

    void opened(Connection c);

    /**
     * docs/migration.md section 4, the connector's side of a move: dials the peer's resume port at
     * {@code at} for session {@code id}, again while it is refused or cannot connect (the peer may not
     * have parked the session yet), until {@code resumeTimeoutMillis} have passed; then fails with
     * {@code WSAECONNRESET} and the reason.
     */
    CompletableFuture<ResumeDial.Resumed> dialResume(InetSocketAddress at, SessionId id,
            SessionKey key, long received);

    /**
     * docs/migration.md section 4, the acceptor's side of a move: parks session {@code id} for the
     * connector's dial, at most {@code resumeTimeoutMillis}; then fails with {@code WSAECONNRESET}.
     */
    CompletableFuture<ResumeDial.Resumed> parkSession(SessionId id, SessionKey key, long received);

    /** A connection moved to another provider (docs/rules.md SW-migrate-visible): counted under MOVED. */
    void moved(Connection c);

    void ended(Connection c);
}
