package io.sanswitch.rdma;

import java.util.ArrayDeque;

import io.sanswitch.spi.WsaError;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportEvents;

/**
 * Reports a connection's sends in the order they were posted (docs/rules.md OV-order). UCX calls
 * an eager (small) send back as soon as its bytes are copied out, before a rendezvous (large) send
 * posted earlier that still waits for the peer; so an outcome is held until every send before it
 * was reported. Worker thread only.
 */
final class SendOrder {

    /** One send in flight and, once UCX called it back, its outcome. */
    static final class Entry {
        private final PostedOperation op;
        private boolean done;
        private WsaError error;
        private long bytes;

        private Entry(PostedOperation op) {
            this.op = op;
        }
    }

    private final ArrayDeque<Entry> inFlight = new ArrayDeque<>();
    private final TransportEvents events;

    SendOrder(TransportEvents events) {
        this.events = events;
    }

    /** A send about to start: it is reported after every send posted before it. */
    Entry posted(PostedOperation op) {
        Entry e = new Entry(op);
        inFlight.add(e);
        return e;
    }

    /** The outcome of {@code e} ({@code error == null}: success); reports every send now due. */
    void finished(Entry e, WsaError error, long bytes) {
        e.done = true;
        e.error = error;
        e.bytes = bytes;
        for (Entry head; (head = inFlight.peek()) != null && head.done;) {
            inFlight.poll();
            if (head.error == null) {
                events.operationCompleted(head.op, head.bytes);
            } else {
                events.operationFailed(head.op, head.error, head.bytes);
            }
        }
    }
}
