package io.sanswitch.core.switcher;

/**
 * A session between two carriers (docs/migration.md section 4): who it is, what of this side's stream
 * is kept until the peer acknowledges it, and how much of the peer's stream arrived here in order.
 * The next carrier (a {@link ResumedStream}) goes on from it. Owned by the connection's queue.
 *
 * @param received the application's bytes received from the peer, in stream order: what a resume states
 * @param ackEveryBytes the bytes received unacknowledged from which an ACK goes alone
 */
record ParkedSession(SessionIdentity identity, Retention retention, long received, int ackEveryBytes) {

    /** The move failed or the connection ended meanwhile: nothing is kept. */
    void ended() {
        retention.clear();
    }
}
