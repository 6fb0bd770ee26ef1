package io.sanswitch.spi;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.sanswitch.spi.completion.OverlappedCompleter;

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
 * <p>Starting a request on it and publishing its outcome are the provider's alone (they play the
 * part of the {@code Internal} fields that only the provider writes): they are not methods of this
 * class but of {@link OverlappedCompleter}, in a package only the provider engine's bundle is wired
 * to. 2.0: {@code begin}, {@code abandon} and {@code publish} moved there.
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

    static {
        OverlappedCompleter.install(new Completer());
    }

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

    /** The completing side, reachable only through {@link OverlappedCompleter#get()}. */
    private static final class Completer extends OverlappedCompleter {
        @Override
        public boolean begin(Overlapped overlapped) {
            return overlapped.begin();
        }

        @Override
        public void abandon(Overlapped overlapped) {
            overlapped.abandon();
        }

        @Override
        public void publish(Overlapped overlapped, OverlappedResult outcome) {
            overlapped.publish(outcome);
        }
    }

    private boolean begin() {
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

    private void abandon() {
        if (!result.compareAndSet(IN_PROGRESS, IDLE)) {
            throw new IllegalStateException("no request in progress to abandon: " + result.get());
        }
    }

    private void publish(OverlappedResult outcome) {
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
