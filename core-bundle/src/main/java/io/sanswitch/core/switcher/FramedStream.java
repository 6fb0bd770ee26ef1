package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Over an RDMA provider the stream carries the frames of {@link Frames}: a HELLO each way first
 * (docs/rules.md DP-first-message: one negotiation message each way), then the application's bytes as DATA up to the RDMA
 * threshold and as {@link BlockTransfers blocks} above it (docs/rules.md BG-rdma-flows), and the control frames of the
 * block flows. Every frame is written by {@link Frame#writeTo} and read by {@link FrameReader}; this
 * class adds the rules that need the connection's state. Owned by the connection's queue.
 */
final class FramedStream implements WireFormat {
    /** What the peer's HELLO said; nothing but a HELLO may come before it. */
    private enum PeerHello {
        AWAITED, READS_BLOCKS, TAKES_WRITES
    }

    private final Connection c;
    private final InboundBuffer inbound;
    /** Sends above this many bytes move as blocks; DATA frames carry at most this many. */
    private final int threshold;
    private final FrameReader reader = new FrameReader(Connection.BUFFER_BYTES);
    /** Frames about the opposite direction, sent ahead of the data. */
    private final ArrayDeque<Frame> control = new ArrayDeque<>();
    private final BlockTransfers blocks;
    private PeerHello peer = PeerHello.AWAITED;
    /** docs/rules.md SW-credit: what each side may send ahead of the other's application. */
    private final CreditWindow window = new CreditWindow();
    /** Both HELLOs carry the credit flag: the window is kept both ways (this side always offers it). */
    private boolean credits;
    /** Null unless this switch migrates (docs/rules.md SW-migrate-negotiated): nothing of it costs otherwise. */
    private final MigratableSession session;

    FramedStream(Connection c, Carrier k, SendQueue sends, InboundBuffer inbound, int threshold, boolean readsBlocks, long maxBlock,
            MigrationSettings migration, boolean connector, int resumePort) {
        this.c = c;
        this.inbound = inbound;
        this.threshold = threshold;
        this.blocks = new BlockTransfers(c, k, this, sends, inbound, readsBlocks, maxBlock);
        this.session = migration.migrate() ? new MigratableSession(c, this, connector, migration, resumePort) : null;
    }

    /** The migration side of this connection (docs/migration.md), or null: this switch does not migrate. */
    MigratableSession migration() {
        return session;
    }

    /** What is kept of what was sent, or null: this side does not migrate, or the peer does not. */
    Retention retention() {
        return session == null ? null : session.retention();
    }

    /** Whether sent blocks stay with the retention until acknowledged (their memory goes back then). */
    boolean retainsBlocks() {
        return session != null && session.active();
    }

    /** A block of the peer's of {@code length} bytes took its {@code place} in the stream (not yet counted). */
    void blockAnnounced(InboundBuffer.Chunk place, int length) {
        if (session != null) {
            session.announced(place, length);
        }
    }

    /**
     * docs/rules.md SW-migrate-back: buffers for the first blocks of {@code length} bytes registered ahead.
     * Before the peer's HELLO its flow is not known: a switch's peers are switches, set up alike, so this
     * side's own stands for it (a guess that is wrong costs one buffer kept unused until the close).
     */
    void prepareBlocks(int length) {
        blocks.prepare(length, peer == PeerHello.AWAITED ? blocks.readsBlocks() : peer == PeerHello.READS_BLOCKS);
    }

    /** docs/rules.md SW-close-off-io: the peer's frames wait while a pool's deregistrations are at its bound. */
    boolean releasesFull() {
        return blocks.releasesFull();
    }

    /** The block of {@code place} is in place: its bytes count as received once nothing before them is missing. */
    void blockReceived(InboundBuffer.Chunk place) {
        if (session != null) {
            session.placed(place);
            session.receivesProcessed();
        }
    }

    /**
     * Whether this connection can move (docs/rules.md SW-migrate-trigger): both sides migrate, SESSION
     * is done, and our blocks go by the read flow (a write-flow block holds the application's own buffer
     * until acknowledged, which a move would release early).
     */
    boolean movable() {
        return notMovable() == null;
    }

    /**
     * Why this connection cannot move (see {@link #movable()}), or null when it can: for the log; ""
     * when it never could (no session: a resume socket, or migration off when it opened).
     */
    String notMovable() {
        if (session == null) {
            return "";
        }
        if (!session.active()) {
            return "the peer does not migrate";
        }
        if (session.identity() == null) {
            return "the SESSION exchange is not done";
        }
        if (peer != PeerHello.READS_BLOCKS || !blocks.readsBlocks()) {
            return "its blocks go by the write flow";
        }
        return null;
    }

    /**
     * The connection moves to another carrier (docs/migration.md section 4): what runs over this one
     * is dropped (its blocks, pools, control frames), except the session's retention and counts,
     * which go on over the next. The old socket's close releases the registrations.
     */
    ParkedSession moved() {
        control.clear();
        session.moving();
        blocks.clear();
        return session.parked();
    }

    @Override
    public SessionIdentity session() {
        return session == null ? null : session.identity();
    }

    @Override
    public long retained() {
        Retention r = retention();
        return r == null ? 0 : r.held();
    }

    @Override
    public boolean lastFillAckOnly() {
        return session != null && session.lastFillAckOnly();
    }

    @Override
    public void ackOnlySent() {
        if (session != null) {
            session.standaloneSent();
        }
    }

    /** Queues a control frame; it goes with the next provider send. */
    void control(Frame f) {
        control.add(f);
    }

    @Override
    public void opened() {
        control(new Frame.Hello(blocks.readsBlocks(), session != null, true));
    }

    @Override
    public boolean windowed() {
        return credits;
    }

    /**
     * docs/rules.md SW-credit: the application consumed {@code n} bytes of the peer's stream; a CREDIT
     * goes ahead of the data once a quarter of the window was consumed since the last one.
     */
    @Override
    public void consumed(int n) {
        if (!credits) {
            return;
        }
        int grant = window.consumed(n);
        if (grant > 0) {
            control(new Frame.Credit(grant));
            // After the task at hand: a block's read queues its DONE right after the application took
            // the block, and the CREDIT then rides in DONE's send instead of a send of its own.
            c.later(c::pumpSend);
        }
    }

    /**
     * The bytes of our stream the peer's window takes now: unlimited once its HELLO said it grants
     * no credits (a switch from before them), the window's room until then and with credits.
     */
    private long windowRoom() {
        return credits || peer == PeerHello.AWAITED ? window.room() : Long.MAX_VALUE;
    }

    /** Control frames first, then the sends in order; a frame is never split across two sends. */
    @Override
    public boolean fill(ByteBuffer out, SendQueue sends, List<SendQueue.Segment> segments) {
        while (!control.isEmpty() && control.peek().size() <= out.remaining()) {
            control.poll().writeTo(out);
        }
        Retention kept = null;
        if (session != null) {
            // docs/migration.md section 5: the ACK after the control frames, ahead of the data.
            session.writeAck(out);
            kept = session.retention();
        }
        for (SendQueue.Send s = sends.next(); s != null; s = sends.next()) {
            if (s.total() > threshold) {
                // docs/rules.md BG-rdma-flows: the flow depends on the peer's provider, known from its HELLO. A block
                // also waits until every control frame queued so far is in this send ahead of it: a
                // WRITE_DONE that freed the room must reach the peer before the block that uses it.
                long room = windowRoom();
                if (peer == PeerHello.AWAITED || out.remaining() < Frames.BLOCK_HEADER + Frames.MAX_DESCRIPTOR
                        || !control.isEmpty() || !blocks.mayStart(s, kept, room)) {
                    break;
                }
                int left = s.left();
                if (!blocks.start(s, out, peer == PeerHello.READS_BLOCKS, kept, room)) {
                    return false;
                }
                window.sent(left - s.left());
            } else {
                int room = out.remaining() - Frames.DATA_HEADER;
                if (room <= 0) {
                    break;
                }
                // docs/rules.md SW-credit: a DATA frame is cut to the window's room; none when it is full.
                int n = (int) Math.min(Math.min(Math.min(room, s.left()), threshold), windowRoom());
                if (n <= 0) {
                    break;
                }
                if (kept != null) {
                    // docs/rules.md SW-migrate-exactly-once: a full retention holds the sends back.
                    n = (int) Math.min(n, kept.room());
                    if (n <= 0) {
                        break;
                    }
                    kept.data(sends.peek(s, n));
                }
                new Frame.Data(sends.peek(s, n)).writeTo(out);
                sends.taken(s, n);
                window.sent(n);
                segments.add(new SendQueue.Segment(s, n));
            }
        }
        if (session != null) {
            session.filled(out);
        }
        return true;
    }

    /** Decodes what arrived and acts on each frame, until the bytes end or the connection does. */
    @Override
    public void received(ByteBuffer data) {
        if (!reader.add(data)) {
            // Cannot happen: what waits is one incomplete frame, shorter than MAX_FRAME.
            c.protocolError("frame reassembly overflow (" + reader.waiting() + " bytes waiting)");
            return;
        }
        // A move begun by a frame of this receive ends it here: the rest comes again (docs/migration.md section 4).
        while (!c.ended() && !c.moving()) {
            Frames.Decoded d = reader.next();
            if (d instanceof Frame f) {
                onFrame(f);
            } else if (d instanceof Frames.Violation v) {
                c.protocolError(v.reason());
            } else {
                break;
            }
        }
        if (session != null && !c.ended() && !c.moving()) {
            session.receivesProcessed();
        }
    }

    private void onFrame(Frame f) {
        if (peer == PeerHello.AWAITED) {
            if (f instanceof Frame.Hello h) {
                peer = h.readsBlocks() ? PeerHello.READS_BLOCKS : PeerHello.TAKES_WRITES;
                credits = h.credits();
                if (session != null) {
                    session.peerHello(h.migrates());
                }
                c.pumpSend();
            } else {
                c.protocolError(f.getClass().getSimpleName().toUpperCase() + " before the peer's HELLO");
            }
        } else if (f instanceof Frame.Data d) {
            if (!withinWindow(d.payload().remaining())) {
                return;
            }
            if (session != null) {
                session.counted(d.payload().remaining());
            }
            c.arrived(d.payload());
        } else if (f instanceof Frame.Ack a) {
            String bad = session == null ? "ACK on a connection that does not migrate" : session.onAck(a);
            if (bad != null) {
                c.protocolError(bad);
                return;
            }
            c.pumpSend(); // room in the retention
            c.finishCloseWhenIdle();
        } else if (f instanceof Frame.Session x) {
            String bad = session == null ? "SESSION on a connection that does not migrate" : session.onSession(x);
            if (bad != null) {
                c.protocolError(bad);
                return;
            }
            c.pumpSend();
        } else if (f instanceof Frame.Credit k) {
            String bad = credits ? window.credit(k.bytes()) : "CREDIT on a connection without credits";
            if (bad != null) {
                c.protocolError(bad);
                return;
            }
            c.pumpSend(); // room in the window
        } else if (f instanceof Frame.Block b) {
            if (withinWindow(b.length())) {
                blocks.read(b);
            }
        } else if (f instanceof Frame.WriteReq w) {
            if (withinWindow(w.length())) {
                blocks.exposeTarget(w);
            }
        } else if (f instanceof Frame.Done done) {
            blocks.done(done.id());
        } else if (f instanceof Frame.WriteTarget t) {
            blocks.writeTo(t.id(), t.descriptor());
        } else if (f instanceof Frame.WriteDone w) {
            blocks.targetWritten(w.id());
        } else if (f instanceof Frame.Reset) {
            c.peerReset();
        } else if (f instanceof Frame.Move) {
            // docs/rules.md SW-migrate-early: the peer's provider goes, the session moves now.
            if (session == null && !c.carriesSession()) {
                c.protocolError("MOVE on a connection that does not migrate");
            } else {
                c.peerMoves();
            }
        } else if (f instanceof Frame.Return) {
            // docs/migration.md section 6: only a moved session's resume socket carries it.
            c.protocolError("RETURN on a connection that has not moved");
        } else {
            c.protocolError("a second HELLO");
        }
    }

    /**
     * docs/rules.md SW-credit, docs/security.md SEC-13: with credits, {@code n} more bytes of the peer's
     * stream must stay within the window this side granted; beyond it is a protocol error.
     */
    private boolean withinWindow(int n) {
        String bad = credits ? window.arrived(n) : null;
        if (bad != null) {
            c.protocolError(bad);
        }
        return bad == null;
    }

    @Override
    public boolean idle() {
        return control.isEmpty() && blocks.idle();
    }

    @Override
    public boolean resets() {
        return true;
    }

    @Override
    public void ended() {
        control.clear();
        if (session != null) {
            // Before the pools are forgotten: retained blocks go back to them first.
            session.ended();
        }
        blocks.clear();
    }
}
