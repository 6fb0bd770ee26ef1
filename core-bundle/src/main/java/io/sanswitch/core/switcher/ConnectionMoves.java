package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.WsaError;

/**
 * A {@link Connection}'s moves between carriers (docs/migration.md sections 4 and 6): it parks
 * instead of ending when its provider socket fails or its provider goes, resumes over the socket
 * the move brings, moves back to RDMA, answers the peer's MOVE and RETURN, and records each move in
 * the connection's {@link ProviderHistory}. Its fields are owned by the connection's
 * {@link SerialQueue} unless said otherwise; it logs as the connection.
 */
final class ConnectionMoves {
    private final Connection c;
    /**
     * docs/migration.md section 4: the connection is moving (its old carrier is dropped, the resume
     * not done yet): the application's calls queue, nothing is posted, and what completes on the old
     * carrier is ignored. Owned by the connection's queue.
     */
    private boolean moving;
    /** Why the move failed, for the messages of the failures; null: it did not. Owned by the connection's queue. */
    private String moveFailure;
    /** While moving: the session whose retention and counts go on over the next carrier. Owned by the connection's queue. */
    private ParkedSession parked;
    /** The resume of the last move: done when it resumed or failed. Owned by the connection's queue. */
    private CompletableFuture<ResumeDial.Resumed> moveUnderWay;
    /**
     * docs/rules.md SW-migrate-back, the connector's side: a resume socket to the peer's RDMA resume
     * port is being connected ({@link #connectingBack}) or is connected ({@link #connectedBack}) ahead of
     * the move back with the handshake's hello and challenge done over it, while the session still runs
     * over TCP; the move back then only proves and takes the accept. Owned by the connection's queue.
     */
    private boolean connectingBack;
    private ResumeDial connectedBack;
    /**
     * A resume socket's owner: told when the peer sends MOVE on it (docs/rules.md SW-migrate-early);
     * set on the owner's queue, read on this one's.
     */
    private volatile Runnable peerMovesOwner;

    ConnectionMoves(Connection c) {
        this.c = c;
    }

    /** The connection is between two carriers (docs/migration.md section 4): the old one's work is dropped. */
    boolean moving() {
        return moving;
    }

    /** Why the move failed, for the messages of the failures; null: it did not. */
    String failure() {
        return moveFailure;
    }

    /**
     * docs/rules.md SW-migrate-trigger: the provider socket failed or its provider went away while the
     * session is migratable: instead of ending, the connection parks (its application side stays as
     * it is) and moves to TCP between the same two switches: the connector dials the peer's resume
     * port (SW-migrate-connector-dials), the acceptor waits for that dial in the switch's
     * {@link ParkedSessions}.
     *
     * @param error what the provider reported, or null
     * @return whether the connection moves (else it ends as before)
     */
    boolean moves(String reason, WsaError error) {
        return moves(reason, error, false);
    }

    /**
     * @param back docs/rules.md SW-migrate-back: a move of a session on TCP back to RDMA, which the
     *     connector begins once the RDMA provider is up on both sides; it dials the peer's RDMA resume
     *     port, and its TCP resume port if that fails
     */
    private boolean moves(String reason, WsaError error, boolean back) {
        Carrier k = c.carrier;
        SwitchContext sw = c.sw;
        if (c.state != Connection.State.OPEN || c.closeCalled || moving || !sw.settings().migration().migrate()) {
            return false;
        }
        SessionIdentity identity;
        if (k.resumed != null) {
            identity = k.resumed.identity(); // docs/migration.md section 6: a moved session moves again
        } else if (k.wire instanceof FramedStream f && f.movable()) {
            identity = f.session();
        } else {
            String why = k.wire instanceof FramedStream f ? f.notMovable() : "";
            if (!why.isEmpty()) {
                Connection.LOG.info("{}: does not move ({}): {}", c, reason, why);
            }
            return false;
        }
        boolean connector = c.connector();
        if (connector ? identity.peerResumePort() == 0 : sw.resumePort() == 0) {
            Connection.LOG.info("{}: does not move ({}): no resume port on the {}", c, reason, connector ? "peer" : "switch");
            return false;
        }
        moving = true;
        // docs/rules.md SW-migrate-visible: the application's calls are held from here to the resume.
        ProviderMove.Cause cause = back ? ProviderMove.Cause.PROVIDER_RETURNED
                : k.retired() ? ProviderMove.Cause.PROVIDER_WITHDRAWN : ProviderMove.Cause.CONNECTION_FAILED;
        MoveStart began = new MoveStart(k.name, reason, cause, cause == ProviderMove.Cause.CONNECTION_FAILED ? error : null,
                Instant.now(), System.nanoTime());
        SessionId id = SessionId.of(identity.id());
        SessionKey key = connector ? SessionKey.derive(identity.ownSecret(), id, identity.peerSecret())
                : SessionKey.derive(identity.peerSecret(), id, identity.ownSecret());
        int returnPort = k.resumed != null ? k.resumed.peerReturnPort() : 0;
        // The old carrier's part ends; the application's stays: what was taken of its sends is in
        // the retention (they complete), what arrived in order waits, the rest comes again.
        if (k.resumed != null) {
            parked = k.resumed.moved();
        } else {
            parked = ((FramedStream) k.wire).moved();
            c.end.closeOffQueue(k, "closeSocket at the move", () -> {
            });
        }
        // docs/rules.md SW-migrate-fence: the receives lent to the old carrier's reads wait for them,
        // aborted by that close or done before it.
        c.receiving.loans.fence();
        c.inbound.dropFromFirstMissing();
        c.sends.acknowledgeTaken();
        c.releaseRegistrations();
        long received = parked.received();
        InetSocketAddress remote = c.remoteAddress();
        InetSocketAddress tcpAt = new InetSocketAddress(remote.getAddress(), identity.peerResumePort());
        ResumeDial ahead = takeConnectedBack();
        if (ahead != null && !(back && connector)) {
            ahead.abort(); // a move of another kind came first
            ahead = null;
        }
        CompletableFuture<ResumeDial.Resumed> resumed = !connector ? sw.parkSession(id, key, received)
                : back ? sw.dialBack(new InetSocketAddress(remote.getAddress(), returnPort), tcpAt, id, key, received, ahead)
                : sw.dialResume(tcpAt, id, key, received);
        moveUnderWay = resumed;
        resumed.whenComplete((r, e) -> c.later(() -> resumedOrNot(r, e, began)));
        c.receiving.liftFence(); // when no fenced read is in flight (a failed one began the move, or none was lent)
        return true;
    }

    /** The resume socket connected ahead of a move back, now the move's (null: none). */
    private ResumeDial takeConnectedBack() {
        ResumeDial s = connectedBack;
        connectedBack = null;
        return s;
    }

    /**
     * docs/rules.md SW-migrate-proof: a proven dial for this session came while it still runs here:
     * the peer moved it and this side has not noticed (its carrier has not failed yet, or no receive
     * of it is posted). It parks now, for the dial that follows.
     */
    void peerResumes() {
        moves("the peer resumes the session elsewhere", null);
    }

    /**
     * docs/rules.md SW-migrate-back, the connector's side: a session moved to TCP goes back to RDMA once
     * the peer announced its RDMA resume port and an RDMA provider runs here too. On the queue; called
     * when the peer's RETURN arrives and when an RDMA provider starts on this switch.
     */
    void maybeReturn() {
        Carrier k = c.carrier;
        SwitchContext sw = c.sw;
        if (k.resumed == null || !c.connector() || k.resumed.overRdma() || k.resumed.peerReturnPort() == 0
                || !sw.settings().migration().moveBack() || !sw.rdmaUp()) {
            return;
        }
        if (k.resumed.leaving() || moving || c.state != Connection.State.OPEN || c.closeCalled || connectingBack) {
            return;
        }
        // The RDMA connection first, and the handshake's first round trip, while the stream goes on over
        // TCP: the application waits only for the MOVE's answer and the proof's, not for the connect.
        // One that fails leaves the session on TCP until the next RETURN or RDMA provider start.
        ResumedStream leaving = k.resumed;
        connectingBack = true;
        SessionIdentity identity = leaving.identity();
        SessionId id = SessionId.of(identity.id());
        sw.connectBack(new InetSocketAddress(c.remoteAddress().getAddress(), leaving.peerReturnPort()), id,
                SessionKey.derive(identity.ownSecret(), id, identity.peerSecret()))
                .whenComplete((s, e) -> c.later(() -> connectedBack(leaving, s, e)));
    }

    /** On the queue: the resume socket connected ahead of the move back, or not. */
    private void connectedBack(ResumedStream leaving, ResumeDial s, Throwable e) {
        connectingBack = false;
        if (e != null) {
            Connection.LOG.info("{}: stays on {}: connecting to the peer's RDMA resume port failed: {}", c, leaving.provider(),
                    ResumedStream.reason(e));
            return;
        }
        if (c.carrier.resumed != leaving || leaving.leaving() || moving || c.state != Connection.State.OPEN || c.closeCalled) {
            s.abort();
            return;
        }
        connectedBack = s;
        // The peer parks at the MOVE and ends the socket; that end is the sign to dial. A peer that
        // never answers does not hold the session: the move goes on after the resume timeout.
        leaving.leave();
        c.after(c.sw.settings().migration().resumeTimeout(), () -> {
            // Still on the socket it was leaving, and no move under way (a move's dial may outlast this timer).
            if (c.carrier.resumed == leaving && !moving && !c.state.terminal()) {
                returnReady();
            }
        });
    }

    /** The connector's MOVE was answered (the peer ended the socket) or not in time: the move back begins. */
    void returnReady() {
        if (moving || c.state.terminal()) {
            return;
        }
        if (!moves("the RDMA provider is up on both sides", null, true)) {
            moveFailed(WSAECONNRESET, "the move back to RDMA could not begin");
        }
    }

    /** The acceptor's side of a move back: the connector's MOVE arrived; the session parks for its dial. */
    void peerMovesBack() {
        if (!moves("the peer moves the session back to RDMA", null, true)) {
            moveFailed(WSAECONNRESET, "the peer moved the session back to RDMA, and it cannot move here");
        }
    }

    /**
     * docs/rules.md SW-migrate-back, the acceptor's side: tells the connector of a session moved to TCP
     * where this switch's RDMA resume port is now ({@code port}; 0: none). On the queue.
     */
    void announceReturn(int port) {
        Carrier k = c.carrier;
        if (k.resumed != null && !c.connector() && !k.resumed.overRdma() && !moving && c.state == Connection.State.OPEN
                && c.sw.settings().migration().moveBack()) {
            k.resumed.announceReturn(port);
        }
    }

    /**
     * A moved session's resume socket failed: the session moves again (its provider went, or the peer
     * moves it back, docs/migration.md section 6), else the connection fails as a peer's reset.
     */
    void resumeSocketFailed(String why) {
        if (!moves(why, null)) {
            moveFailed(WSAECONNRESET, why);
        }
    }

    /**
     * docs/rules.md SW-migrate-early: a provider was withdrawn; if it carries this connection (or its
     * resume socket) and the session can move, the move begins now, on the queue, while the provider's
     * final cleanup runs: the connector dials at once, the acceptor parks before the dial comes. What
     * cannot move is left to the cleanup, which ends it as before (SW-withdrawn). The reads lent to the
     * provider are fenced until the cleanup aborts them (SW-migrate-fence).
     */
    void providerWithdrawn(CompletableFuture<Void> told) {
        Carrier k = c.carrier;
        boolean framed = k.resumed == null && k.wire instanceof FramedStream f && f.movable();
        if (!k.retired() || moving || c.state != Connection.State.OPEN || c.closeCalled || !framed && k.resumed == null) {
            told.complete(null);
            return;
        }
        // MOVE goes after what is in flight and tells the peer now, not at the cleanup's reset; its
        // end of the old socket is dropped (the cleanup resets it). A moved-back session's resume
        // socket over RDMA carries the MOVE as a frame of its own; over TCP none goes (there a MOVE is
        // the move back). The withdrawal waits for the resume (a forced close at the cleanup may drop a
        // MOVE UCX has taken but not delivered).
        boolean moveSent = framed ? k.slots.postLast(new Frame.Move(), Overlapped.notifying((IoCompletion) r -> {
        }), true) : k.resumed.tellMove();
        // Worth the wait: the connector's own dial, or an acceptor's peer that was told.
        if (moves("the provider is withdrawn", null) && (c.connector() || moveSent)) {
            moveUnderWay.whenComplete((r, e) -> told.complete(null));
        } else {
            told.complete(null);
        }
    }

    /**
     * docs/rules.md SW-migrate-early, the peer's side: its provider is withdrawn and its session
     * moves; so does this side's (the connector dials, the acceptor parks), else it ends as at a reset.
     */
    void peerMoves() {
        if (c.carriesSession()) {
            // The session over this socket moves, not the socket: its owner resets it as it leaves.
            Runnable owner = peerMovesOwner;
            if (owner != null) {
                owner.run();
            }
            return;
        }
        if (!moves("the peer's provider is withdrawn", null)) {
            c.end.terminate(WSAECONNRESET, WSAECONNRESET);
        }
    }

    /** A resume socket's owner, run (on this queue) when the peer's MOVE arrives on it. */
    void whenPeerMoves(Runnable owner) {
        peerMovesOwner = owner;
    }

    /**
     * docs/rules.md SW-migrate-early on a resume socket over RDMA (a session moved back): the session
     * it carries moves because the provider under it goes. MOVE goes as a frame of this socket's own,
     * behind only what its provider already has: the carried stream's bytes queued ahead of it would
     * reach the peer's session only as fast as the peer's application reads. Any thread.
     *
     * @return completes once the MOVE's send is over, with whether it was posted at all
     */
    CompletableFuture<Boolean> tellPeerMoves() {
        CompletableFuture<Boolean> sent = new CompletableFuture<>();
        c.later(() -> {
            Carrier k = c.carrier;
            boolean posted = c.carriesSession() && c.state == Connection.State.OPEN && k.resumed == null
                    && k.wire instanceof FramedStream
                    && k.slots.postLast(new Frame.Move(), Overlapped.notifying((IoCompletion) r -> sent.complete(true)), true);
            if (!posted) {
                sent.complete(false);
            }
        });
        return sent;
    }

    /** A move under way: from which provider, why, and when the application's calls began to be held. */
    private record MoveStart(String from, String reason, ProviderMove.Cause cause, WsaError error, Instant when,
            long nanos) {
    }

    /** On the queue: the resume succeeded (the session goes on over its socket) or failed (the connection fails). */
    private void resumedOrNot(ResumeDial.Resumed r, Throwable e, MoveStart began) {
        if (c.state.terminal()) {
            // The application aborted meanwhile.
            if (r != null) {
                r.socket().abort();
            }
            return;
        }
        if (e != null) {
            moveFailed(WSAECONNRESET, "the move from " + began.from() + " failed: " + ResumedStream.reason(e));
            return;
        }
        ResumedStream stream = new ResumedStream(c, r.socket(), c.sends, c.inbound, parked);
        Carrier next = new Carrier(stream);
        // docs/rules.md SW-migrate-visible: the history first, so that choice() says tcp whenever provider() does.
        Duration pause = Duration.ofNanos(System.nanoTime() - began.nanos());
        c.history = c.history.moved(ProviderChoice.moved(next.name,
                new ProviderMove(began.from(), began.cause(), began.when(), pause), began.error()));
        c.carrier = next;
        moving = false;
        parked = null;
        String bad = stream.start(r.peerReceived());
        if (bad != null) {
            c.protocolError(bad);
            return;
        }
        c.sw.moved(c);
        if (!c.connector() && c.sw.returnPort() != 0) {
            // docs/rules.md SW-migrate-back: the connector learns at once that it may come back to RDMA.
            announceReturn(c.sw.returnPort());
        }
        if (r.socket() instanceof Connection inner) {
            inner.describedAs(c.history.describe(c.localAddress(), c.remoteAddress()));
        }
        Connection.LOG.info("{}: moved from {} to {} ({}: {}), paused {} ms", c, began.from(), next.name, began.cause(),
                began.reason(), pause.toMillis());
        c.pumpSend();
        c.deliver();
        c.finishCloseWhenIdle();
    }

    /**
     * docs/rules.md SW-migrate-death: the move failed (no resume within the timeout, a refused dial) or
     * its socket did: the connection fails as a peer's reset, with the reason.
     */
    void moveFailed(WsaError error, String why) {
        if (c.state.terminal()) {
            return;
        }
        Connection.LOG.info("{}: {}", c, why);
        moveFailure = why;
        if (parked != null) {
            parked.ended();
            parked = null;
        }
        c.end.terminate(error, WSAECONNRESET);
    }

    /** The connection ended: the parked session ends, and a resume socket connected ahead of a move back is aborted. */
    void ended() {
        if (parked != null) {
            parked.ended();
            parked = null;
        }
        ResumeDial ahead = takeConnectedBack();
        if (ahead != null) {
            ahead.abort();
        }
    }
}
