package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;
import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

import io.sanswitch.core.switcher.Connection.PendingReceive;
import io.sanswitch.core.switcher.Connection.State;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * How a {@link Connection} ends: the application's graceful close (which waits for the sends) and
 * abort, the peer's end and the provider's, a protocol error's RESET, and the one place that ends it
 * ({@link #terminate}), closing its provider socket off the io threads (docs/rules.md SW-close-off-io).
 * Its fields are owned by the connection's {@link SerialQueue}; it logs as the connection.
 */
final class ConnectionEnd {
    /** The methods that end a connection; the first frame below them is where it ended. */
    private static final Set<String> ENDING = Set.of("endedAt", "terminate", "failed", "refused");
    /** The classes those methods are in. */
    private static final Set<String> ENDING_IN = Set.of(Connection.class.getName(), ConnectionEnd.class.getName());

    private final Connection c;
    /**
     * The connection ends by a graceful close whose sends are done (a resume socket closes, not
     * resets). Owned by the connection's queue.
     */
    private boolean graceful;
    /** The graceful close's time limit, once close was called. Owned by the connection's queue. */
    private Future<?> closeTimer;

    ConnectionEnd(Connection c) {
        this.c = c;
    }

    /** The application's close, on the queue: the sends go out first, within the close timeout. */
    void close() {
        if (c.state != State.OPEN && c.state != State.STARTING) {
            return;
        }
        c.state = State.CLOSING;
        c.receiving.failReceives(WSA_OPERATION_ABORTED, "closed");
        Carrier k = c.carrier;
        if (k.direct != null) {
            k.direct.doom(new WsaException(WSA_OPERATION_ABORTED, "receive from " + c.remoteAddress() + " ended: closed"));
        }
        closeTimer = c.sw.schedule(() -> c.later(() -> {
            if (c.state == State.CLOSING) {
                Connection.LOG.warn("{}: graceful close timed out after {}; aborting", c, c.sw.settings().closeTimeout());
                abortNow();
            }
        }), c.sw.settings().closeTimeout());
        finishCloseWhenIdle();
    }

    void abortNow() {
        if (c.state.terminal()) {
            return;
        }
        Carrier k = c.carrier;
        if (k.retired() || k.resumed != null || c.moves.moving()) {
            terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
            return;
        }
        // A provider that can reset the connection on close does so with no linger (TCP RST).
        lingerZero();
        // Framed: the peer learns of the abort from a RESET frame sent before the close.
        if (k.wire.resets() && c.state != State.STARTING && k.slots.idle() && postReset()) {
            terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK, false);
            return;
        }
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
    }

    /**
     * The peer broke the session protocol (docs/security.md, SEC-5): the connection ends with
     * {@code WSAECONNRESET} for what is pending and what comes later, and the peer gets a RESET before
     * the socket closes (once the sends in flight are done: the RESET follows their frames).
     */
    void protocolError(String what) {
        if (c.state.terminal()) {
            return;
        }
        Connection.LOG.warn("{}: session protocol error: {}; resetting", c, what);
        terminate(WSAECONNRESET, WSAECONNRESET, false);
        lingerZero();
        if (c.carrier.resumed != null || c.moves.moving()) {
            closeSocketQuietly();
        } else if (c.carrier.slots.resetWhenDone()) {
            // A send that never completes must not keep the socket open.
            c.after(c.sw.settings().closeTimeout(), this::closeSocketQuietly);
        } else {
            sendReset();
        }
    }

    void finishCloseWhenIdle() {
        Carrier k = c.carrier;
        if (c.state != State.CLOSING || c.moves.moving() || !c.sends.isEmpty()) {
            return;
        }
        if (k.resumed != null ? k.resumed.idle() : k.wire.idle() && k.slots.idle()) {
            finishCloseNow();
        }
    }

    void finishCloseNow() {
        graceful = true;
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
    }

    /** The provider closed the socket's handle (its final cleanup reset it, docs/rules.md SK-handle, LC-c). */
    void closedByProvider(Carrier k) {
        if (k != c.carrier || c.moves.moving()) {
            return;
        }
        if (c.moves.moves("the provider closed the socket" + (k.retired() ? " (withdrawn)" : ""), null)) {
            return;
        }
        terminate(WSA_OPERATION_ABORTED, WSAECONNRESET);
    }

    private void lingerZero() {
        Carrier k = c.carrier;
        if (k.resumed != null || c.moves.moving()) {
            return;
        }
        try {
            k.spi.setSockOpt(k.handle, Winsock.SOL_SOCKET, Winsock.SO_LINGER, 0);
        } catch (WsaException notSupported) {
            Connection.LOG.trace("{}: SO_LINGER not supported: {}", c, notSupported.error());
        }
    }

    /** Sends a RESET frame on an ended connection, then closes its socket. */
    void sendReset() {
        if (c.carrier.retired() || c.carrier.resumed != null || c.moves.moving() || !postReset()) {
            closeSocketQuietly();
        }
    }

    /**
     * Posts a RESET frame from a free send buffer (no send may be posted); its completion closes the
     * socket.
     *
     * @return whether it was posted
     */
    private boolean postReset() {
        return c.carrier.slots.postLast(new Frame.Reset(),
                Overlapped.notifying((IoCompletion) r -> c.later(this::closeSocketQuietly)), false);
    }

    void terminate(WsaError pending, WsaError later) {
        terminate(pending, later, true);
    }

    /**
     * Ends the connection once: pending sends and receives fail with {@code pending}, later calls
     * with {@code later}; the provider socket is closed, which releases its registrations (docs/rules.md Q23).
     */
    private void terminate(WsaError pending, WsaError later, boolean closeSocket) {
        if (c.state.terminal()) {
            return;
        }
        Carrier k = c.carrier;
        WsaError reported = pending;
        String moveFailure = c.moves.failure();
        // After a move that failed the connection fails as the peer's reset says (docs/rules.md SW-migrate-death).
        boolean retired = k.retired() && moveFailure == null;
        c.endedAt = reported + " at " + endedAt() + (retired ? ", provider withdrawn" : "")
                + (moveFailure != null ? ", " + moveFailure : "");
        String endedAt = c.endedAt;
        // A provider going away is one event for the application, whatever it reported first.
        pending = ProviderGoing.pendingError(pending, retired);
        later = ProviderGoing.laterError(later, retired);
        boolean wasOpen = c.state != State.STARTING;
        c.state = later == WSAENOTSOCK ? State.CLOSED : State.BROKEN;
        c.laterError = later;
        c.pendingError = pending;
        if (closeTimer != null) {
            closeTimer.cancel(false);
        }
        WsaError sendError = pending;
        c.sends.failAll(() -> new WsaException(sendError, "send to " + c.remoteAddress() + " ended: " + endedAt));
        if (k.resumed != null) {
            k.resumed.ended();
        } else if (!c.moves.moving()) {
            k.wire.ended();
        }
        c.moves.ended();
        c.inbound.clear();
        c.receiving.failReceives(pending, endedAt);
        // Lent receives whose read is over and which no place answers; the others fail at their read's completion.
        for (PendingReceive r : c.receiving.loans.ended()) {
            r.done().completeExceptionally(new WsaException(pending, "receive from " + c.remoteAddress() + " ended: " + endedAt));
        }
        c.releaseRegistrations();
        // After the close: the provider writes no more into the lent buffers.
        WsaError lentError = pending;
        Runnable lentEnd = k.direct != null && !c.moves.moving()
                ? () -> k.direct.ended(lentError, "receive from " + c.remoteAddress() + " ended: " + endedAt)
                : () -> {
                };
        if (closeSocket) {
            closeSocketQuietly(lentEnd);
        } else {
            lentEnd.run();
        }
        if (wasOpen) {
            c.sw.ended(c);
        }
        Connection.LOG.debug("{}: ended (pending {}, later {})", c, pending, later);
    }

    /** The first frame of the switch's code below the methods that end a connection. */
    private static String endedAt() {
        for (StackTraceElement e : new Throwable().getStackTrace()) {
            if (!ENDING_IN.contains(e.getClassName()) || !ENDING.contains(e.getMethodName())) {
                return e.toString();
            }
        }
        return "";
    }

    private void closeSocketQuietly() {
        closeSocketQuietly(() -> {
        });
    }

    /** Closes the socket carrying the connection; {@code then} runs on the queue once that close is over. */
    private void closeSocketQuietly(Runnable then) {
        Carrier k = c.carrier;
        if (k.resumed != null) {
            k.resumed.close(graceful);
            then.run();
        } else if (c.moves.moving()) {
            then.run(); // the old carrier's socket was handed to the close threads when the move began
        } else {
            closeOffQueue(k, "closeSocket", then);
        }
    }

    /**
     * docs/rules.md SW-close-off-io: the provider's closeSocket of {@code k}'s socket runs on the
     * switch's close threads, not on this queue's thread: it may wait for the peer (over UCX for each
     * exposed region's revocation, seconds from a peer that never answers), and every connection
     * sharing the io threads would wait behind it. It follows the deregistrations asked for before it
     * ({@link Connection#releases}). {@code then} runs on this queue once it returned.
     * The provider's final cleanup may close the socket first: the close then fails, logged at trace.
     */
    void closeOffQueue(Carrier k, String what, Runnable then) {
        if (leftToCleanup(k)) {
            then.run();
            return;
        }
        CompletableFuture.runAsync(() -> {
            if (leftToCleanup(k)) {
                return;
            }
            try {
                k.spi.closeSocket(k.handle);
            } catch (WsaException e) {
                // WSANOTINITIALISED, WSAENOTSOCK: the provider is being cleaned up and resets the socket itself.
                Connection.LOG.trace("{}: {}: {}", c, what, e.error());
            }
        }, c.releases).whenComplete((done, e) -> {
            if (e != null) {
                Connection.LOG.warn("{}: {} failed", c, what, e);
            }
            c.later(then);
        });
    }

    /**
     * A withdrawn provider's final cleanup resets and releases the socket (docs/rules.md LC-c); a call
     * would only wait for that cleanup and hold a switch thread meanwhile.
     */
    private static boolean leftToCleanup(Carrier k) {
        return k.slot != null && k.slot.isClosed() || k.retired();
    }
}
