package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;

/**
 * A moved session's frames over its resume socket (docs/migration.md section 4): the switch's own
 * TCP connection to the peer's switch, whose bytes carry the same session protocol as the RDMA
 * connection did, DATA and ACK frames only (no blocks on TCP). It first sends again what the peer has
 * not received, out of the {@link Retention}, then the application's queued sends; it counts and
 * acknowledges what it receives as before. One send and one receive of the socket in flight. Owned
 * by the connection's queue.
 */
final class ResumedStream {
    /** The bytes of one send of frames, and of one receive. */
    static final int BATCH_BYTES = Frames.MAX_FRAME;

    private final Connection c;
    private final SwitchSocket socket;
    private final SendQueue sends;
    private final InboundBuffer inbound;
    private final Retention retention;
    private final SessionIdentity identity;
    private final FrameReader reader = new FrameReader(BATCH_BYTES);
    private final ByteBuffer in = ByteBuffer.allocate(BATCH_BYTES);
    /** What the peer had not received at the resume, still to go before the queued sends. */
    private final ArrayDeque<ByteBuffer> replay = new ArrayDeque<>();
    private long received;
    private long ackSent;
    private boolean sending;
    private boolean receiving;

    ResumedStream(Connection c, SwitchSocket socket, SendQueue sends, InboundBuffer inbound, MigratableSession moved) {
        this.c = c;
        this.socket = socket;
        this.sends = sends;
        this.inbound = inbound;
        this.retention = moved.retention();
        this.identity = moved.identity();
        this.received = moved.received();
        this.ackSent = -1; // the first send tells the peer where this side is
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
        retention.replayFrom(peerReceived, replay::add);
        return null;
    }

    SessionIdentity identity() {
        return identity;
    }

    long retained() {
        return retention.held();
    }

    String provider() {
        return socket.provider();
    }

    <T> void setOption(SanSocketOption<T> option, T value) throws WsaException {
        socket.setOption(option, value);
    }

    <T> T getOption(SanSocketOption<T> option) throws WsaException {
        return socket.getOption(option);
    }

    /** Nothing of ours left to send: a graceful close may end the connection. */
    boolean idle() {
        return !sending && replay.isEmpty();
    }

    /** Sends what waits (ACK, then what is replayed, then the queued sends), one socket send at a time. */
    void pumpSend() {
        if (sending || c.ended()) {
            return;
        }
        ByteBuffer out = ByteBuffer.allocate(BATCH_BYTES);
        if (received != ackSent) {
            new Frame.Ack(received).writeTo(out);
            ackSent = received;
        }
        while (!replay.isEmpty() && out.remaining() > Frames.DATA_HEADER) {
            ByteBuffer r = replay.peek();
            int n = Math.min(r.remaining(), out.remaining() - Frames.DATA_HEADER);
            new Frame.Data(r.duplicate().limit(r.position() + n)).writeTo(out);
            r.position(r.position() + n);
            if (!r.hasRemaining()) {
                replay.poll();
            }
        }
        List<SendQueue.Segment> segments = new ArrayList<>();
        for (SendQueue.Send s = sends.next(); s != null && replay.isEmpty(); s = sends.next()) {
            // docs/rules.md SW-migrate-exactly-once: kept until acknowledged, a full retention holds back.
            int n = (int) Math.min(Math.min(out.remaining() - Frames.DATA_HEADER, s.left()), retention.room());
            if (n <= 0) {
                break;
            }
            ByteBuffer part = sends.peek(s, n);
            retention.data(part);
            new Frame.Data(part).writeTo(out);
            sends.taken(s, n);
            segments.add(new SendQueue.Segment(s, n));
        }
        if (out.position() == 0) {
            return;
        }
        sending = true;
        socket.send(out.flip()).whenComplete((n, e) -> c.later(() -> {
            sending = false;
            if (c.ended()) {
                return;
            }
            if (e != null) {
                c.moveFailed(WSAECONNRESET, "the resumed socket's send failed: " + e);
                return;
            }
            for (SendQueue.Segment s : segments) {
                sends.acknowledge(s.send(), s.bytes());
            }
            pumpSend();
            c.finishCloseWhenIdle();
        }));
    }

    /** Keeps one receive of the socket posted while the application keeps up. */
    void pumpReceive() {
        if (receiving || c.ended() || inbound.full() || inbound.isPeerClosed()) {
            return;
        }
        receiving = true;
        in.clear();
        socket.receive(in).whenComplete((n, e) -> c.later(() -> {
            receiving = false;
            if (c.ended()) {
                return;
            }
            if (e != null) {
                c.moveFailed(WSAECONNRESET, "the resumed socket's receive failed: " + e);
            } else if (n < 0) {
                c.peerEnded();
            } else {
                received(in.flip());
            }
        }));
    }

    private void received(ByteBuffer bytes) {
        if (!reader.add(bytes)) {
            c.protocolError("frame reassembly overflow (" + reader.waiting() + " bytes waiting)");
            return;
        }
        while (!c.ended()) {
            Frames.Decoded d = reader.next();
            if (d instanceof Frame.Data data) {
                received += data.payload().remaining();
                c.arrived(data.payload());
            } else if (d instanceof Frame.Ack a) {
                String bad = retention.acknowledge(a.received());
                if (bad != null) {
                    c.protocolError(bad);
                }
            } else if (d instanceof Frame.Reset) {
                c.peerReset();
            } else if (d instanceof Frame f) {
                // docs/migration.md section 4: no blocks, no second HELLO or SESSION over TCP.
                c.protocolError(f.getClass().getSimpleName().toUpperCase() + " on a moved session");
            } else if (d instanceof Frames.Violation v) {
                c.protocolError(v.reason());
            } else {
                break;
            }
        }
        if (c.ended()) {
            return;
        }
        c.deliver();
        pumpSend();
        c.finishCloseWhenIdle();
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
        replay.clear();
        retention.clear();
    }

    @Override
    public String toString() {
        // Read from any thread for a diagnosis: the counters may be a moment old.
        return "ResumedStream[received " + received + ", acknowledged " + ackSent + ", kept " + retention.held()
                + (sending ? ", sending" : "") + (receiving ? ", receiving" : "") + (replay.isEmpty() ? "" : ", replaying")
                + ", over " + socket + "]";
    }

    /** Why a resume failed, from a completion's exception. */
    static String reason(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        return t instanceof WsaException w ? w.getMessage() : String.valueOf(t);
    }
}
