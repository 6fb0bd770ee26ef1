package io.sanswitch.core.switcher;

/**
 * The credit window of one framed connection, both ways (docs/rules.md SW-credit): the receiver grants
 * {@link #WINDOW} bytes of the stream ahead of what its application consumed, and the sender keeps to
 * it, so the receiver never has to stop reading frames to bound what it holds: the control frames
 * (DONE, ACK, ...) always get through, whatever data waits for the application. Counted are the
 * application's bytes of the stream: DATA payloads and the announced lengths of blocks (BLOCK,
 * WRITE_REQ). The counts run from the connection's start on both sides; the window is kept only when
 * both HELLOs carry the credit flag. Owned by the connection's queue.
 */
final class CreditWindow {
    /** The bytes a receiver grants ahead of its application: what it held before it stopped reading. */
    static final long WINDOW = Connection.HIGH_WATER;
    /** A receiver grants again once its application consumed this much since the last CREDIT. */
    static final long GRANT_EVERY = WINDOW / 4;

    // Our stream.
    private long sent;
    private long credited;
    // The peer's stream.
    private long arrived;
    private long consumed;
    private long granted;

    /** Bytes of our stream the window takes now (0: wait for a CREDIT). */
    long room() {
        return WINDOW - (sent - credited);
    }

    /** {@code n} bytes of our stream went on the wire (a DATA payload, an announced block). */
    void sent(long n) {
        sent += n;
    }

    /**
     * The peer's CREDIT of {@code n} bytes (1 … {@link #WINDOW}, checked by {@link Frames}).
     *
     * @return null, or why it breaks the protocol: more than we have in flight
     */
    String credit(int n) {
        long inFlight = sent - credited;
        if (n > inFlight) {
            return "CREDIT of " + n + " bytes with " + inFlight + " in flight";
        }
        credited += n;
        return null;
    }

    /**
     * {@code n} bytes of the peer's stream arrived or were announced.
     *
     * @return null, or why it breaks the protocol: beyond the window this side granted
     */
    String arrived(long n) {
        arrived += n;
        long ahead = arrived - granted;
        return ahead > WINDOW ? "the peer sent " + ahead + " bytes beyond the last credit (window " + WINDOW + ")" : null;
    }

    /**
     * The application consumed {@code n} bytes of the peer's stream.
     *
     * @return the CREDIT to send now, or 0
     */
    int consumed(long n) {
        consumed += n;
        long due = consumed - granted;
        if (due < GRANT_EVERY) {
            return 0;
        }
        granted = consumed;
        return (int) due;
    }
}
