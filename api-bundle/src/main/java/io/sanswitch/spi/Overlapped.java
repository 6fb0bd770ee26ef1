package io.sanswitch.spi;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One asynchronous request: the Java form of {@code WSAOVERLAPPED} (docs/rules.md BG-overlapped). The switch
 * creates it, chooses its {@linkplain Mode completion mode}, and passes it to a send, receive or
 * RDMA call; the provider owns its result slot while the operation runs.
 *
 * <p><b>Completion, exactly once.</b> Whatever ends the operation (the transfer, closeSocket, or
 * the final cleanup) the provider publishes one {@link OverlappedResult} here. In
 * {@link Mode#NOTIFY} mode it then calls {@link UpcallTable#completeOverlappedRequest}; in
 * {@link Mode#POLL} mode it makes no upcall and the switch reads the result with
 * {@code getOverlappedResult} (docs/rules.md Q3). The result is visible before the upcall is made.
 *
 * <p>An {@code Overlapped} may be reused for a new request once its previous one has completed;
 * reusing one that is still in progress is refused ({@code WSAEINVAL}).
 *
 * <p>{@link #begin()}, {@link #abandon()} and {@link #publish(OverlappedResult)} are for the provider only (they play
 * the part of the {@code Internal} fields that only the provider and the upcall write).
 */
public final class Overlapped {

    /** How the switch learns that the operation ended: the low bit of {@code hEvent}. */
    public enum Mode {
        /** Low bit 0: the provider calls {@code completeOverlappedRequest}. */
        NOTIFY,
        /** Low bit 1: the provider must not notify; the switch polls {@code getOverlappedResult}. */
        POLL
    }

    private static final OverlappedResult IDLE = new OverlappedResult(null, 0, 0);
    private static final OverlappedResult IN_PROGRESS = new OverlappedResult(null, 0, 0);

    private final Mode mode;
    private final Object context;
    private final AtomicReference<OverlappedResult> result = new AtomicReference<>(IDLE);
    private volatile CountDownLatch done = new CountDownLatch(1);

    private Overlapped(Mode mode, Object context) {
        this.mode = mode;
        this.context = context;
    }

    /** An overlapped whose completion is reported through the upcall. */
    public static Overlapped notifying(Object context) {
        return new Overlapped(Mode.NOTIFY, context);
    }

    /** An overlapped whose completion the switch polls for; no upcall is made. */
    public static Overlapped polling(Object context) {
        return new Overlapped(Mode.POLL, context);
    }

    public Mode mode() {
        return mode;
    }

    /** The switch's own value, never read by the provider. */
    public Object context() {
        return context;
    }

    /** {@code true} once a result was published ({@code Internal != WSS_OPERATION_IN_PROGRESS}). */
    public boolean isDone() {
        OverlappedResult r = result.get();
        return r != IN_PROGRESS && r != IDLE;
    }

    /** {@code true} while a request runs on this overlapped. */
    public boolean isInProgress() {
        return result.get() == IN_PROGRESS;
    }

    /** The published result, or {@code null} while none is. */
    public OverlappedResult result() {
        OverlappedResult r = result.get();
        return r == IN_PROGRESS || r == IDLE ? null : r;
    }

    /**
     * Waits until a result is published.
     *
     * @return the result, or {@code null} if the time ran out
     * @throws InterruptedException if interrupted while waiting
     */
    public OverlappedResult awaitResult(long timeout, TimeUnit unit) throws InterruptedException {
        CountDownLatch latch = done;
        OverlappedResult r = result();
        if (r != null) {
            return r;
        }
        latch.await(timeout, unit);
        return result();
    }

    /**
     * Provider only: marks the overlapped as carrying a new request.
     *
     * @return {@code false} if a request is still in progress on it
     */
    public boolean begin() {
        while (true) {
            OverlappedResult r = result.get();
            if (r == IN_PROGRESS) {
                return false;
            }
            if (r != IDLE) {
                // A completed overlapped is being reused: arm a fresh latch before going back
                // to "in progress" so a waiter never sees the old one released for the new request.
                done = new CountDownLatch(1);
            }
            if (result.compareAndSet(r, IN_PROGRESS)) {
                return true;
            }
        }
    }

    /**
     * Provider only: the request that {@link #begin()} announced was not started after all (the
     * call that was to start it failed), so no result will follow and the overlapped is free again.
     */
    public void abandon() {
        if (!result.compareAndSet(IN_PROGRESS, IDLE)) {
            throw new IllegalStateException("no request in progress to abandon: " + result.get());
        }
    }

    /**
     * Provider only: publishes the outcome of the request in progress.
     *
     * @throws IllegalStateException if no request is in progress, i.e. a second completion: that
     *     is a bug in the provider, never a legal race
     */
    public void publish(OverlappedResult outcome) {
        if (outcome == null || outcome == IN_PROGRESS || outcome == IDLE) {
            throw new IllegalArgumentException("not an outcome: " + outcome);
        }
        if (!result.compareAndSet(IN_PROGRESS, outcome)) {
            throw new IllegalStateException("overlapped completed twice or never begun; result was " + result.get());
        }
        done.countDown();
    }

    @Override
    public String toString() {
        OverlappedResult r = result.get();
        String state = r == IDLE ? "idle" : r == IN_PROGRESS ? "in progress" : r.toString();
        return "Overlapped[" + mode + ", " + state + (context != null ? ", " + context : "") + "]";
    }
}
