package io.sanswitch.core;

import java.time.Duration;

/**
 * The notification gate of docs/rules.md LC-a: every FD_* event passes it on its way to the switch,
 * and the final cleanup closes it and waits for events already past it to be delivered, so that
 * none reaches the switch once the cleanup has gone on: during the cleanup no event object is
 * signalled.
 */
final class NotificationGate {
    private final InFlight posting = new InFlight("event postings");
    private volatile boolean open;

    /**
     * Enters the gate to post one event.
     *
     * @return {@code false} when the gate is closed: drop the event. On {@code true} the caller
     *     must {@link #exit()}.
     */
    boolean tryEnter() {
        posting.enter();
        if (open) {
            return true;
        }
        posting.exit();
        return false;
    }

    void exit() {
        posting.exit();
    }

    void open() {
        open = true;
    }

    /**
     * Closes the gate and waits for postings in progress on other threads.
     *
     * @return {@code false} if they did not drain within {@code timeout}
     */
    boolean closeAndDrain(Duration timeout) {
        open = false;
        return posting.awaitQuiescent(timeout);
    }

    boolean isOpen() {
        return open;
    }
}
