package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.List;

/** Over a TCP provider the switch never frames: the wire carries the application's bytes as they are. */
final class PlainStream implements WireFormat {
    private final InboundBuffer inbound;

    PlainStream(InboundBuffer inbound) {
        this.inbound = inbound;
    }

    @Override
    public void opened() {
    }

    @Override
    public boolean fill(ByteBuffer out, SendQueue sends, List<SendQueue.Segment> segments) {
        for (SendQueue.Send s = sends.next(); s != null && out.hasRemaining(); s = sends.next()) {
            sends.copy(s, Math.min(out.remaining(), s.left()), out, segments);
        }
        return true;
    }

    @Override
    public void received(ByteBuffer data) {
        inbound.add(data);
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
