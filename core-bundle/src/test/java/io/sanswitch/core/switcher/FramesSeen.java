package io.sanswitch.core.switcher;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link ResumedFrames} handed on: the DATA bytes in order, the size of each piece, and the
 * other frames as lines that say how many DATA bytes came before them.
 */
final class FramesSeen implements ResumedFrames.Sink {
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    final List<Integer> pieces = new ArrayList<>();
    final List<String> events = new ArrayList<>();

    @Override
    public boolean data(ByteBuffer piece) {
        pieces.add(piece.remaining());
        byte[] b = new byte[piece.remaining()];
        piece.get(b);
        data.writeBytes(b);
        return true;
    }

    @Override
    public boolean ack(long received) {
        events.add("ACK " + received + " after " + data.size());
        return true;
    }

    @Override
    public boolean returnPort(int port) {
        events.add("RETURN " + port + " after " + data.size());
        return true;
    }

    @Override
    public void peerMoves() {
        events.add("MOVE after " + data.size());
    }

    @Override
    public void reset() {
        events.add("RESET after " + data.size());
    }

    @Override
    public void violation(String reason) {
        events.add("violation: " + reason);
    }

    /** Reads all of {@code wire} in one go. */
    static FramesSeen of(byte[] wire) {
        FramesSeen seen = new FramesSeen();
        new ResumedFrames().read(ByteBuffer.wrap(wire), seen);
        return seen;
    }
}
