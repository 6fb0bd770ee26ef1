package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Over a TCP provider the switch never frames: the wire carries the application's bytes as they are.
 * So a large send in direct memory goes from the application's buffer itself (registered for that
 * send), with no copy; smaller ones and heap buffers are copied into the send buffers, several per
 * provider send. Received bytes go to the connection as they are.
 */
final class PlainStream implements WireFormat {
    /** Direct sends from this size on go from the application's memory: below it the copy costs less than a registration. */
    static final int BORROW_FROM = 64 * 1024;

    private final Connection c;
    /** The most bytes of one provider send (the provider's SO_MAX_MSG_SIZE). */
    private final int maxSend;
    private boolean borrowing = true;

    PlainStream(Connection c, int maxSend) {
        this.c = c;
        this.maxSend = maxSend;
    }

    @Override
    public void opened() {
    }

    private boolean borrows(SendQueue.Send s) {
        return borrowing && s.direct() && s.total() >= BORROW_FROM;
    }

    @Override
    public ByteBuffer borrow(SendQueue sends) {
        SendQueue.Send s = sends.next();
        return s != null && borrows(s) ? sends.peek(s, Math.min(s.left(), maxSend)) : null;
    }

    @Override
    public void borrowRefused() {
        borrowing = false;
    }

    /** Copies the sends in order until the buffer is full or the next one goes from its own memory. */
    @Override
    public boolean fill(ByteBuffer out, SendQueue sends, List<SendQueue.Segment> segments) {
        for (SendQueue.Send s = sends.next(); s != null && out.hasRemaining() && !borrows(s); s = sends.next()) {
            sends.copy(s, Math.min(out.remaining(), s.left()), out, segments);
        }
        return true;
    }

    @Override
    public void received(ByteBuffer data) {
        c.arrived(data);
    }

    @Override
    public boolean idle() {
        return true;
    }

    @Override
    public boolean resets() {
        return false;
    }

    @Override
    public void ended() {
    }
}
