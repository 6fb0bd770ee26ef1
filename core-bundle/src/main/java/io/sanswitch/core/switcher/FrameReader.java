package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;

/**
 * Reassembles the frames of one connection's receive stream: the bytes of each receive go in,
 * frames, {@link Frames.NeedMore} or a {@link Frames.Violation} come out (decoded by
 * {@link Frames#decode}). Its buffer is allocated once: what waits between receives is at most one
 * incomplete frame, shorter than {@link Frames#MAX_FRAME} because its header was checked.
 */
final class FrameReader {
    private final ByteBuffer pending;

    /** @param maxReceive the most bytes one {@link #add} brings */
    FrameReader(int maxReceive) {
        pending = ByteBuffer.allocate(Frames.MAX_FRAME + maxReceive).flip();
    }

    /**
     * Appends received bytes. A DATA payload returned before is invalid afterwards.
     *
     * @return {@code false} (nothing appended) if they do not fit: more than {@code maxReceive} bytes,
     *     or added while a complete frame was still waiting to be read
     */
    boolean add(ByteBuffer data) {
        pending.compact();
        boolean fits = pending.remaining() >= data.remaining();
        if (fits) {
            pending.put(data);
        }
        pending.flip();
        return fits;
    }

    /** The next frame (consumed), {@link Frames.NeedMore}, or the {@link Frames.Violation} the stream ends with. */
    Frames.Decoded next() {
        return Frames.decode(pending);
    }

    /** Bytes received and not yet consumed as frames. */
    int waiting() {
        return pending.remaining();
    }
}
