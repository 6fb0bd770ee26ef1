package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The migration side of one framed connection whose switch has {@code migrate} on (docs/migration.md
 * sections 2 and 5): the SESSION exchange, the count of the application's bytes received and its
 * ACKs, and the {@link Retention} of what was sent. Active only once the peer's HELLO says it
 * migrates too (docs/rules.md SW-migrate-negotiated); until then what is framed is kept in case it
 * does, and dropped if it does not. Owned by the connection's queue.
 */
final class MigratableSession {
    private static final SecureRandom RANDOM = new SecureRandom();

    private enum Peer {
        AWAITED, MIGRATES, DOES_NOT
    }

    private final Connection c;
    private final FramedStream stream;
    private final boolean connector;
    private final int ownResumePort;
    private final int ackEveryBytes;
    private final byte[] ownSecret = new byte[Frames.SESSION_SECRET];
    /** The connector's choice; the acceptor takes the connector's. */
    private byte[] id;
    private Retention retention;
    private Peer peer = Peer.AWAITED;
    private volatile SessionIdentity identity;

    /**
     * The application's bytes received from the peer, in stream order (docs/migration.md section 4:
     * what a resume states), and the most an ACK has told it so far.
     */
    private long received;
    /**
     * The peer's blocks announced and not yet in place, in stream order, and the DATA that came
     * after the first of them: not counted until every byte before them is in place, so that
     * {@link #received} is an offset of the stream (a block in flight at a move is sent again).
     */
    private final ArrayDeque<Pending> unplaced = new ArrayDeque<>();
    /** The connection moved: what the old carrier still decodes counts no more. */
    private boolean moved;
    private long ackSent;
    /** A standalone ACK is wanted: the receives are processed, or {@code ackEveryBytes} are unacknowledged. */
    private boolean ackWanted;
    private boolean ackTaskQueued;
    /** A provider send that carries only an ACK is in flight: the next waits for it (coalescing). */
    private boolean standaloneInFlight;
    /** The last {@link #writeAck} wrote an ACK and nothing else followed. */
    private int ackMark = -1;
    private boolean lastFillAckOnly;

    MigratableSession(Connection c, FramedStream stream, boolean connector, MigrationSettings settings, int ownResumePort) {
        this.c = c;
        this.stream = stream;
        this.connector = connector;
        this.ownResumePort = ownResumePort;
        this.ackEveryBytes = settings.ackEveryBytes();
        this.retention = new Retention(settings.retentionBytes());
        RANDOM.nextBytes(ownSecret);
        if (connector) {
            id = new byte[Frames.SESSION_ID];
            RANDOM.nextBytes(id);
        }
    }

    /** The peer's HELLO: active if it migrates too; the connector then sends SESSION. */
    void peerHello(boolean migrates) {
        if (!migrates) {
            peer = Peer.DOES_NOT;
            retention.clear();
            retention = null;
            return;
        }
        peer = Peer.MIGRATES;
        if (connector) {
            stream.control(new Frame.Session(id, ownSecret, ownResumePort));
        }
    }

    boolean active() {
        return peer == Peer.MIGRATES && !moved;
    }

    /** What is framed is kept (the peer migrates, or may). */
    Retention retention() {
        return retention;
    }

    SessionIdentity identity() {
        return identity;
    }

    /** The bytes received unacknowledged from which an ACK goes alone (docs/migration.md section 5). */
    int ackEveryBytes() {
        return ackEveryBytes;
    }

    /** The application's bytes received from the peer so far: what a resume states (docs/migration.md section 3). */
    long received() {
        return received;
    }

    /** docs/rules.md SW-migrate-negotiated, docs/security.md SEC-12: one SESSION each way, the id the connector's. */
    String onSession(Frame.Session s) {
        if (!active()) {
            return "SESSION on a connection that does not migrate";
        }
        if (identity != null) {
            return "a second SESSION";
        }
        if (connector) {
            if (!Arrays.equals(id, s.id())) {
                return "SESSION with an id that is not this connection's";
            }
        } else {
            id = s.id();
            stream.control(new Frame.Session(id, ownSecret, ownResumePort));
        }
        identity = new SessionIdentity(id, ownSecret, s.secret(), s.resumePort());
        return null;
    }

    /** The peer's ACK: drops what it covers; the held-back sends may go on. */
    String onAck(Frame.Ack a) {
        if (!active()) {
            return "ACK on a connection that does not migrate";
        }
        return retention.acknowledge(a.received());
    }

    /** A run of the peer's stream not yet counted: a block on its way ({@code place} its place), or DATA behind one. */
    private static final class Pending {
        final Object place;
        final long length;
        boolean placed;

        Pending(Object place, long length, boolean placed) {
            this.place = place;
            this.length = length;
            this.placed = placed;
        }
    }

    /** {@code n} bytes of DATA arrived: counted now, or once the blocks before them are in place. */
    void counted(long n) {
        if (!active()) {
            return;
        }
        if (unplaced.isEmpty()) {
            received += n;
        } else {
            unplaced.add(new Pending(null, n, true));
        }
    }

    /** A block of {@code length} bytes of the peer's takes its place in the stream ({@code place}). */
    void announced(Object place, long length) {
        if (active()) {
            unplaced.add(new Pending(place, length, false));
        }
    }

    /** The block of {@code place} is in place: it counts, with what follows it, once nothing before is missing. */
    void placed(Object place) {
        if (!active()) {
            return;
        }
        for (Pending p : unplaced) {
            if (p.place == place) {
                p.placed = true;
                break;
            }
        }
        while (!unplaced.isEmpty() && unplaced.peek().placed) {
            received += unplaced.poll().length;
        }
    }

    /**
     * The connection moves (docs/migration.md section 4): what was not counted is dropped here (the
     * peer sends it again from {@link #received}).
     */
    void moving() {
        unplaced.clear();
        moved = true;
    }

    /**
     * The receives at hand are processed: a standalone ACK goes at once if {@code ackEveryBytes} are
     * unacknowledged, else once the connection's queue has done what it had queued (a reply or the
     * next receive's ACK may carry it first).
     */
    void receivesProcessed() {
        if (received == ackSent) {
            return;
        }
        if (received - ackSent >= ackEveryBytes) {
            ackWanted = true;
            c.pumpSend();
        } else if (!ackTaskQueued) {
            ackTaskQueued = true;
            c.later(() -> {
                ackTaskQueued = false;
                if (received != ackSent && !c.ended()) {
                    ackWanted = true;
                    c.pumpSend();
                }
            });
        }
    }

    /** At the start of a send buffer, after the control frames: the ACK, if one is owed. */
    void writeAck(ByteBuffer out) {
        ackMark = -1;
        lastFillAckOnly = false;
        if (received != ackSent && out.remaining() >= Frames.ACK_LENGTH) {
            ackMark = out.position();
            new Frame.Ack(received).writeTo(out);
        }
    }

    /** The send buffer is filled: an ACK alone is taken back unless one is wanted and none is in flight. */
    void filled(ByteBuffer out) {
        if (ackMark < 0) {
            return;
        }
        boolean alone = out.position() == ackMark + Frames.ACK_LENGTH;
        if (alone && (!ackWanted || standaloneInFlight)) {
            out.position(ackMark);
            return;
        }
        ackSent = received;
        ackWanted = false;
        if (alone) {
            standaloneInFlight = true;
            lastFillAckOnly = true;
        }
    }

    /** Whether the last filled send buffer carries an ACK alone. */
    boolean lastFillAckOnly() {
        return lastFillAckOnly;
    }

    /** A send that carried an ACK alone is done: the next standalone ACK may go. */
    void standaloneSent() {
        standaloneInFlight = false;
        if (received != ackSent) {
            ackWanted = true;
        }
    }

    /** The session leaves this carrier (docs/migration.md section 4): what goes on over the next one. */
    ParkedSession parked() {
        return new ParkedSession(identity, retention, received, ackEveryBytes);
    }

    void ended() {
        if (retention != null) {
            retention.clear();
        }
    }
}
