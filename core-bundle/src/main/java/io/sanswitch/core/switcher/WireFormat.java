package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a connection's stream looks like on the wire, chosen once per connection from its provider:
 * {@link PlainStream} over a TCP provider (the wire carries the application's bytes), {@link FramedStream}
 * over an RDMA provider (the session protocol of {@link Frames}). Called on the connection's queue only.
 */
interface WireFormat {
    /** The connection is open: queue what goes first. */
    void opened();

    /**
     * Fills {@code out} (the registered send buffer) from {@code sends}, in order, and records in
     * {@code segments} the bytes of each send that go with this provider send.
     *
     * @return {@code false} if the connection ended meanwhile (nothing is to be sent)
     */
    boolean fill(ByteBuffer out, SendQueue sends, List<SendQueue.Segment> segments);

    /**
     * The next bytes of the head of {@code sends} to go straight from the application's memory in a
     * provider send of their own (a view, not yet taken), or {@code null}: {@link #fill} copies them.
     */
    default ByteBuffer borrow(SendQueue sends) {
        return null;
    }

    /** The provider would not register an application's buffer: copy from now on. */
    default void borrowRefused() {
    }

    /** What the connection's SESSION frames said (docs/migration.md), or null: it does not migrate (yet). */
    default SessionIdentity session() {
        return null;
    }

    /** Bytes sent and kept until the peer acknowledges them (docs/migration.md section 5). */
    default long retained() {
        return 0;
    }

    /** Whether the send buffer {@link #fill} just filled carries an ACK frame alone. */
    default boolean lastFillAckOnly() {
        return false;
    }

    /** A provider send that carried an ACK alone is done. */
    default void ackOnlySent() {
    }

    /**
     * Whether the peer keeps to a window this side grants (docs/rules.md SW-credit): then the switch
     * receives whatever the application holds, since the window bounds what can arrive.
     */
    default boolean windowed() {
        return false;
    }

    /** The application consumed {@code n} bytes of the peer's stream (a window grants them again). */
    default void consumed(int n) {
    }

    /** The bytes of one completed receive (the receive buffer is reused after this). */
    void received(ByteBuffer data);

    /** Nothing of the format's own left to send or to finish: a graceful close may end the connection. */
    boolean idle();

    /** Whether an abortive close can tell the peer by a RESET frame (else only the provider's reset does). */
    boolean resets();

    /** The connection ended: drop what is in flight (closing the socket releases its registrations). */
    void ended();
}
