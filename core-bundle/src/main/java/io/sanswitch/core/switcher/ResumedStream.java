package io.sanswitch.core.switcher;


import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;

/**
 * A moved session's frames over its resume socket (docs/migration.md section 4): the switch's own
 * TCP connection to the peer's switch, whose bytes carry the same session protocol as the RDMA
 * connection did, DATA and ACK frames only (no blocks on TCP). It first sends again what the peer has
 * not received, out of the {@link Retention}, then the application's queued sends; it counts and
 * acknowledges what it receives as before. Several sends and receives of the socket are in flight
 * ({@link ResumedSends}, {@link ResumedReceives}), the frames read in place as they arrive
 * ({@link ResumedFrames}). Owned by the connection's queue.
 */
final class ResumedStream implements ResumedSends.Owner, ResumedReceives.Sink, ResumedFrames.Sink {
    /**
     * How long an ACK of fewer than {@code ackEveryBytes} waits for a batch to ride on before it goes
     * alone: the peer's retention keeps those bytes meanwhile, nothing else waits for it.
     */
    static final Duration QUIET_ACK = Duration.ofMillis(5);

    private final Connection c;
    private final SwitchSocket socket;
    private final InboundBuffer inbound;
    private final Retention retention;
    private final SessionIdentity identity;
    private final ResumedSends out;
    private final ResumedReceives in;
    private final ResumedFrames frames = new ResumedFrames();
    private final int ackEveryBytes;
    private long received;
    /** A quiet ACK is scheduled. */
    private boolean quietAckDue;
    /**
     * The session moved on from this socket (docs/migration.md section 6): what its sends and receives
     * still complete is ignored.
     */
    private boolean left;
    /** The peer's RDMA resume port as its last RETURN said (docs/migration.md section 6); 0: none. */
    private int peerReturnPort;
    /** docs/migration.md section 6: this side sent (or sends) MOVE and waits for the peer to end the socket. */
    private boolean leaving;
    /**
     * Leaving, and the application's buffer was full: what arrives is dropped unread (the resume sends
     * it again, from what this side states it received), so the peer's end of the socket is seen at once.
     */
    private boolean draining;
    /** docs/rules.md SW-migrate-early: the MOVE sent ahead of a move because the provider under the socket goes. */
    private CompletableFuture<Boolean> moveTold;

    ResumedStream(Connection c, SwitchSocket socket, SendQueue sends, InboundBuffer inbound, ParkedSession moved) {
        this.c = c;
        this.socket = socket;
        this.inbound = inbound;
        this.retention = moved.retention();
        this.identity = moved.identity();
        this.received = moved.received();
        this.ackEveryBytes = moved.ackEveryBytes();
        this.out = new ResumedSends(socket, sends, retention, ackEveryBytes, c::here, c::later, this, c.batchBuffers());
        this.out.received(received); // the first send tells the peer where this side is
        // Leaving, a receive stays posted whatever the application holds: the socket's end is the sign to go.
        this.in = new ResumedReceives(socket, Connection.PLAIN_RECEIVE_BYTES, c::here, c::later,
                () -> (leaving || !inbound.full()) && !inbound.isPeerClosed(), this);
        if (socket instanceof Connection inner) {
            inner.whenPeerMoves(() -> c.later(this::peerMovesOffSocket));
        }
    }

    /**
     * The peer has received {@code peerReceived} bytes of this side's stream: what it has is dropped,
     * the rest is sent again first (docs/rules.md SW-migrate-exactly-once).
     *
     * @return null, or why the count breaks the protocol (beyond what was sent, below what the peer acknowledged)
     */
    String start(long peerReceived) {
        String bad = retention.acknowledge(peerReceived);
        if (bad != null) {
            return "resume: " + bad;
        }
        retention.replayFrom(peerReceived, out::replay);
        return null;
    }

    SessionIdentity identity() {
        return identity;
    }

    /** The peer's RDMA resume port as its last RETURN said; 0: none (docs/migration.md section 6). */
    int peerReturnPort() {
        return peerReturnPort;
    }

    /** Tells the peer this switch's RDMA resume port (0: none now) with the next send (docs/migration.md section 6). */
    void announceReturn(int port) {
        out.announceReturn(port);
        pumpSend();
    }

    /**
     * docs/rules.md SW-migrate-back, the connector's side: sends MOVE (after what is in flight, nothing of
     * the stream after it) and goes on receiving until the peer, which parks at the MOVE, ends the
     * socket; then the connection moves ({@link ConnectionMoves#returnReady}).
     */
    void leave() {
        leaving = true;
        out.leave();
        pumpSend();
        in.pump();
    }

    boolean leaving() {
        return leaving;
    }

    /**
     * docs/rules.md SW-migrate-early over a resume socket that runs over RDMA (a session moved back):
     * its provider is withdrawn; the socket's own MOVE tells the peer, so it moves at once and not
     * only at the final cleanup's reset. The socket is reset once the MOVE is sent ({@link #moved}).
     *
     * @return whether a MOVE goes
     */
    boolean tellMove() {
        if (left || leaving || moveTold != null || !(socket instanceof Connection inner) || !inner.overRdma()) {
            return false;
        }
        moveTold = inner.tellPeerMoves();
        return true;
    }

    /**
     * The session leaves this socket for the next carrier (docs/migration.md section 6): its sends and
     * receives still in flight are ignored from now on, the socket is reset (after a MOVE told, once
     * that is sent: a reset now would drop it), and the retention and counts go on.
     */
    ParkedSession moved() {
        left = true;
        out.ended();
        in.ended();
        if (moveTold != null) {
            moveTold.whenComplete((n, e) -> socket.abort());
        } else {
            socket.abort();
        }
        return new ParkedSession(identity, retention, received, ackEveryBytes);
    }

    long retained() {
        return retention.held();
    }

    String provider() {
        return socket.provider();
    }

    /** Whether the resume socket runs over an RDMA provider (the session moved back, docs/migration.md section 6). */
    boolean overRdma() {
        return socket instanceof Connection inner && inner.overRdma();
    }

    /** Whether the provider under the resume socket was withdrawn. */
    boolean providerRetired() {
        return socket instanceof Connection inner && inner.providerRetired();
    }

    <T> void setOption(SanSocketOption<T> option, T value) throws WsaException {
        socket.setOption(option, value);
    }

    <T> T getOption(SanSocketOption<T> option) throws WsaException {
        return socket.getOption(option);
    }

    /** Nothing of ours left to send: a graceful close may end the connection. */
    boolean idle() {
        return out.idle();
    }

    /** Sends what waits (ACK, then what is replayed, then the queued sends). */
    void pumpSend() {
        if (!c.ended()) {
            out.pump();
        }
    }

    /** Keeps receives of the socket posted while the application keeps up. */
    void pumpReceive() {
        in.pump();
    }

    // ------------------------------------------------------------------ ResumedSends.Owner

    @Override
    public void retired() {
        if (left) {
            return;
        }
        pumpSend();
        c.finishCloseWhenIdle();
    }

    @Override
    public void sendFailed(Throwable e) {
        if (!left && !c.ended() && leaving) {
            c.moves.returnReady();
        } else if (!left && !c.ended()) {
            c.moves.resumeSocketFailed("the resumed socket's send failed: " + e);
        }
    }

    @Override
    public boolean connectionEnded() {
        return left || c.ended();
    }

    // ------------------------------------------------------------------ ResumedReceives.Sink

    @Override
    public void received(ByteBuffer bytes) {
        if (leaving && (draining || inbound.full())) {
            // docs/migration.md section 6: waiting for the peer's end of the socket, not for the application.
            draining = true;
            return;
        }
        // Left again after the read: a MOVE just read parks the session at once.
        if (left || !frames.read(bytes, this) || c.ended() || left) {
            return;
        }
        out.received(received);
        c.deliver();
        pumpSend();
        if (out.ackOwed() && !quietAckDue) {
            quietAckDue = true;
            c.after(QUIET_ACK, () -> {
                quietAckDue = false;
                if (!c.ended() && out.ackOwed()) {
                    out.ackAlone();
                    pumpSend();
                }
            });
        }
        c.finishCloseWhenIdle();
    }

    @Override
    public void peerEnded() {
        if (!left && leaving) {
            c.moves.returnReady(); // the peer parked: its end of the socket is the sign (docs/migration.md section 6)
        } else if (!left) {
            c.peerEnded();
        }
    }

    @Override
    public void receiveFailed(Throwable e) {
        if (!left && !c.ended() && leaving) {
            c.moves.returnReady();
        } else if (!left && !c.ended()) {
            c.moves.resumeSocketFailed("the resumed socket's receive failed: " + e);
        }
    }

    // ------------------------------------------------------------------ ResumedFrames.Sink

    @Override
    public boolean data(ByteBuffer piece) {
        received += piece.remaining();
        c.arrived(piece);
        return !c.ended() && !left;
    }

    @Override
    public boolean ack(long count) {
        String bad = retention.acknowledge(count);
        if (bad != null) {
            c.protocolError(bad);
        }
        return !c.ended() && !left;
    }

    @Override
    public boolean returnPort(int port) {
        peerReturnPort = port;
        c.peerMayTakeBack();
        return !c.ended() && !left;
    }

    @Override
    public void peerMoves() {
        if (!left && !c.ended()) {
            c.moves.peerMovesBack();
        }
    }

    /** On the queue: the peer's MOVE on the resume socket itself (docs/rules.md SW-migrate-early): its provider goes. */
    private void peerMovesOffSocket() {
        if (!left && !c.ended()) {
            c.peerMoves();
        }
    }

    @Override
    public void reset() {
        c.peerReset();
    }

    @Override
    public void violation(String reason) {
        c.protocolError(reason);
    }

    /** Closes the socket: gracefully after a close whose sends are done, else with a reset. */
    void close(boolean graceful) {
        if (graceful) {
            socket.close();
        } else {
            socket.abort();
        }
    }

    /** The connection ended: nothing is kept. */
    void ended() {
        out.ended();
        in.ended();
        retention.clear();
    }

    @Override
    public String toString() {
        // Read from any thread for a diagnosis: the counters may be a moment old.
        return "ResumedStream[received " + received + ", acknowledged " + out.ackSent() + ", kept " + retention.held() + ", "
                + out + ", " + in + (out.replaying() ? ", replaying" : "") + ", over " + socket + "]";
    }

    /** Why a resume failed, from a completion's exception. */
    static String reason(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        return t instanceof WsaException w ? w.getMessage() : String.valueOf(t);
    }
}
