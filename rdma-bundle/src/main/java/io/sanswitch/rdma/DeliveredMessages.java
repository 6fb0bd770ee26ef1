package io.sanswitch.rdma;

import java.util.ArrayDeque;

/**
 * Counts a connection's tagged messages that are at the peer: the run from the first message on
 * whose sends all completed with success. The closing notice announces this count, and the peer
 * ends its stream behind it (docs/rules.md SK-close-teardown). A send the close aborted
 * (OV-close-aborts) or that failed ends the run: its message never comes, and the peer takes
 * messages in order, so none after it is counted either. Worker thread only.
 */
final class DeliveredMessages {

    /** One message handed to UCX and, once UCX called it back, whether it reached the peer. */
    static final class Message {
        private boolean done;
        private boolean delivered;

        private Message() {
        }
    }

    /** Messages started and not yet part of the count (nor after a lost one), in sending order. */
    private final ArrayDeque<Message> open = new ArrayDeque<>();
    private long count;
    /** A message was lost: the count stays where it is. */
    private boolean broken;
    private long started;

    /** A message about to be handed to UCX, after every message started before it. */
    Message begin() {
        started++;
        Message m = new Message();
        if (!broken) {
            open.add(m);
        }
        return m;
    }

    /** UCX called {@code m} back: with success its message is at the peer, else it never comes. */
    void done(Message m, boolean delivered) {
        m.done = true;
        m.delivered = delivered;
        for (Message head; !broken && (head = open.peek()) != null && head.done;) {
            open.poll();
            if (head.delivered) {
                count++;
            } else {
                broken = true;
                open.clear();
            }
        }
    }

    /** Messages the peer can take before the end of the stream. */
    long count() {
        return count;
    }

    /** Messages handed to UCX, delivered or not (diagnostics). */
    long started() {
        return started;
    }

    @Override
    public String toString() {
        return count + " of " + started + (broken ? ", a later one lost" : "");
    }
}
