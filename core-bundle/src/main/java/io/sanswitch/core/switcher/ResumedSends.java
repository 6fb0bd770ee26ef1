package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import io.sanswitch.api.SwitchSocket;

/**
 * The sending half of a moved session over its resume socket (docs/migration.md section 4): batches
 * of frames, each one socket send of up to {@link #BATCH_BYTES}: the ACK first if one is owed, then
 * what the resume sends again out of the {@link Retention}, then the application's queued sends as
 * DATA frames (each kept in the retention as it is framed: a full retention holds the next ones back,
 * docs/rules.md SW-migrate-exactly-once). Up to {@link #MAX_IN_FLIGHT} socket sends are in flight, so
 * the resume socket has the next batch while the last one is written; an ACK rides on the next
 * batch, and goes alone only once {@code ackEveryBytes} are unacknowledged or the owner says the
 * stream has gone quiet ({@link #ackAlone}), one such batch at a time; a socket's sends go in the order
 * they were made, and they are retired in that order whatever order they complete in, so an
 * application's send completes only once every batch up to its last byte was sent. The batches are
 * direct buffers (a resume socket over TCP sends large ones from where they are), at most
 * {@link #MAX_IN_FLIGHT}, taken from the switch's shared batches as the traffic needs them, reused,
 * and given back at the end: a session moves at every provider swap, and a megabyte of native memory
 * allocated and zeroed per batch and move cost the queue time and, once the JVM's direct memory was
 * used up, a full collection (docs/rules.md SW-migrate-buffers). Owned by the connection's queue.
 */
final class ResumedSends {
    /** The most bytes of one socket send: several frames (each at most {@link Frames#MAX_FRAME}). */
    static final int BATCH_BYTES = 1 << 20;
    /** Socket sends in flight at most. */
    static final int MAX_IN_FLIGHT = 4;

    /** What the owner does when sends are retired or one failed; on the connection's queue. */
    interface Owner {
        /** Every socket send done so far is retired: more may go, a close may finish. */
        void retired();

        /** A socket send failed: the connection fails (docs/rules.md SW-migrate-death). */
        void sendFailed(Throwable e);

        /** The connection ended: nothing more is sent, nothing retired. */
        boolean connectionEnded();
    }

    /** One batch buffer and, while it is posted, what it carries. */
    private static final class Batch {
        final ByteBuffer memory;
        final List<SendQueue.Segment> segments = new ArrayList<>();
        boolean ackOnly;
        boolean done;

        Batch(ByteBuffer memory) {
            this.memory = memory;
        }
    }

    private final SwitchSocket socket;
    private final SendQueue sends;
    private final Retention retention;
    /** Runs a successful completion on the connection's queue, on the completing thread if the queue is idle. */
    private final Executor here;
    /** Runs a failure on the connection's queue, never on the completing thread (a provider's cleanup). */
    private final Executor later;
    private final Owner owner;
    private final SharedBuffers buffers;
    private final int ackEvery;
    /** What the peer had not received at the resume, still to go before the queued sends. */
    private final ArrayDeque<ByteBuffer> replay = new ArrayDeque<>();
    private final ArrayDeque<Batch> free = new ArrayDeque<>();
    private final ArrayDeque<Batch> posted = new ArrayDeque<>();
    private int batches;
    /** {@link #ended}: a batch still in flight goes back to the shared ones once its send is over. */
    private boolean ended;
    /** The count the next ACK states, and the last one sent (-1: none yet; the first send states it). */
    private long received;
    private long ackSent = -1;
    /** A batch that carries an ACK alone is in flight: the next such waits (it states the latest count then). */
    private boolean ackOnlyInFlight;
    /** The owed ACK may go alone, however few bytes it acknowledges. */
    private boolean ackNow;
    /** A RETURN to send with the next batch (docs/migration.md section 6): the port; -1: none. */
    private int returnPort = -1;
    /** docs/migration.md section 6: a MOVE ends what this socket carries; nothing is framed after it. */
    private boolean leaving;
    private boolean moveSent;

    /**
     * @param ackEvery the bytes received unacknowledged from which an ACK goes alone (docs/migration.md section 5)
     * @param here runs a successful completion on the connection's queue, on the completing thread if the queue is idle
     * @param later runs a failure on the connection's queue, never on the completing thread (a provider's cleanup)
     * @param buffers where batches come from and go back to, direct buffers of {@link #BATCH_BYTES}
     */
    ResumedSends(SwitchSocket socket, SendQueue sends, Retention retention, int ackEvery, Executor here, Executor later,
            Owner owner, SharedBuffers buffers) {
        this.socket = socket;
        this.sends = sends;
        this.retention = retention;
        this.here = here;
        this.later = later;
        this.owner = owner;
        this.buffers = buffers;
        this.ackEvery = ackEvery;
    }

    /** Queues {@code bytes} (a view of the retention) to be sent again before anything else. */
    void replay(ByteBuffer bytes) {
        replay.add(bytes);
    }

    /** The application's bytes received so far: the next batch acknowledges them. */
    void received(long count) {
        received = count;
    }

    long ackSent() {
        return ackSent;
    }

    /** Bytes received that no ACK sent or on its way states yet. */
    boolean ackOwed() {
        return received != ackSent;
    }

    /** The next batch tells the peer this switch's RDMA resume port (0: none now), alone if nothing else goes. */
    void announceReturn(int port) {
        returnPort = port;
    }

    /** The next batch ends with a MOVE, and nothing of the stream is framed after it (docs/migration.md section 6). */
    void leave() {
        leaving = true;
    }

    /** The stream went quiet: the owed ACK goes, alone if nothing else does. */
    void ackAlone() {
        ackNow = true;
    }

    /** Whether the owed ACK may go alone now: the first, {@code ackEvery} bytes, or a quiet stream. */
    private boolean ackMayGoAlone() {
        return received != ackSent && !ackOnlyInFlight && (ackSent < 0 || received - ackSent >= ackEvery || ackNow);
    }

    /** No batch in flight and nothing left to send again: a graceful close may end the connection. */
    boolean idle() {
        return posted.isEmpty() && replay.isEmpty();
    }

    /** Socket sends in flight. */
    int inFlight() {
        return posted.size();
    }

    boolean replaying() {
        return !replay.isEmpty();
    }

    /** Posts batches of what waits while fewer than {@link #MAX_IN_FLIGHT} are in flight. */
    void pump() {
        while (posted.size() < MAX_IN_FLIGHT && !owner.connectionEnded() && mayHaveWork()) {
            Batch b = free.poll();
            if (b == null) {
                b = new Batch(buffers.take());
                batches++;
            }
            if (!fill(b)) {
                free.push(b);
                return;
            }
            post(b);
        }
    }

    /** Whether a batch may carry something (no buffer is taken for nothing). */
    private boolean mayHaveWork() {
        if (moveSent) {
            return false;
        }
        return leaving || returnPort >= 0 || ackMayGoAlone() || !replay.isEmpty() || sends.next() != null && retention.room() > 0;
    }

    /** @return whether {@code b} has something to send */
    private boolean fill(Batch b) {
        ByteBuffer out = b.memory.clear();
        b.segments.clear();
        boolean ack = received != ackSent;
        if (ack) {
            out.put(Frames.ACK).putLong(received);
        }
        if (returnPort >= 0) {
            out.put(Frames.RETURN).putShort((short) returnPort);
            returnPort = -1;
        }
        if (leaving) {
            out.put(Frames.MOVE);
            moveSent = true;
        }
        while (!moveSent && !replay.isEmpty() && out.remaining() > Frames.DATA_HEADER) {
            ByteBuffer r = replay.peek();
            int n = Math.min(Math.min(r.remaining(), Frames.MAX_DATA), out.remaining() - Frames.DATA_HEADER);
            out.put(Frames.DATA).putInt(n).put(out.position(), r, r.position(), n);
            out.position(out.position() + n);
            r.position(r.position() + n);
            if (!r.hasRemaining()) {
                replay.poll();
            }
        }
        for (SendQueue.Send s = sends.next(); !moveSent && s != null && replay.isEmpty(); s = sends.next()) {
            // docs/rules.md SW-migrate-exactly-once: kept until acknowledged, a full retention holds back.
            int n = (int) Math.min(Math.min(out.remaining() - Frames.DATA_HEADER, Frames.MAX_DATA), Math.min(s.left(), retention.room()));
            if (n <= 0) {
                break;
            }
            ByteBuffer part = sends.peek(s, n);
            retention.data(part);
            out.put(Frames.DATA).putInt(n).put(part);
            sends.taken(s, n);
            int last = b.segments.size() - 1;
            if (last >= 0 && b.segments.get(last).send() == s) {
                b.segments.set(last, new SendQueue.Segment(s, b.segments.get(last).bytes() + n));
            } else {
                b.segments.add(new SendQueue.Segment(s, n));
            }
        }
        b.ackOnly = ack && out.position() == Frames.ACK_LENGTH;
        if (out.position() == 0 || b.ackOnly && !ackMayGoAlone()) {
            return false; // nothing, or an ACK that waits to ride on a batch (or for the one on its way)
        }
        if (ack) {
            ackSent = received;
            ackNow = false;
        }
        ackOnlyInFlight |= b.ackOnly;
        out.flip();
        return true;
    }

    private void post(Batch b) {
        b.done = false;
        posted.add(b);
        socket.send(b.memory).whenComplete((n, e) -> {
            if (e == null) {
                here.execute(() -> completed(b));
            } else {
                later.execute(() -> owner.sendFailed(e));
            }
        });
    }

    /** On the connection's queue: {@code b} was sent; the batches at the head are retired in posting order. */
    private void completed(Batch b) {
        if (ended) {
            // The socket is done with it. A failed send's batch is not given back: the socket may
            // still be reading it as it ends, and another session's batch must not change under it.
            buffers.give(b.memory);
            return;
        }
        if (owner.connectionEnded()) {
            return;
        }
        b.done = true;
        while (!posted.isEmpty() && posted.peek().done) {
            Batch head = posted.poll();
            for (SendQueue.Segment s : head.segments) {
                sends.acknowledge(s.send(), s.bytes());
            }
            head.segments.clear();
            if (head.ackOnly) {
                ackOnlyInFlight = false;
            }
            free.push(head);
        }
        owner.retired();
    }

    /**
     * The session left this socket or the connection ended: nothing is sent again; the idle batches
     * go back, one in flight once its send is over (it is the socket's until then).
     */
    void ended() {
        if (ended) {
            return;
        }
        ended = true;
        replay.clear();
        posted.clear();
        for (Batch b : free) {
            buffers.give(b.memory);
        }
        free.clear();
    }

    @Override
    public String toString() {
        return batches + " batches, " + posted.size() + " in flight";
    }
}
