package io.sanswitch.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportRegion;

/**
 * The engine's record of one overlapped request. One atomic state decides who completes it
 * (docs/rules.md LC-b-once): the backend's report, closeSocket and the final cleanup all race through
 * {@link #tryClaim()} (PENDING → COMPLETING), and only the winner releases the memory, publishes
 * the result and upcalls; the loser does nothing. {@link #markDone()} (COMPLETING → DONE) ends it.
 *
 * <p>Accessors follow JCTools' naming: {@code lv} load-volatile, {@code cas} compare-and-set.
 */
final class PendingOperation implements PostedOperation {

    enum State {
        /** Posted; the backend may be moving its data. */
        PENDING,
        /** One party won the right to complete it and is doing so. */
        COMPLETING,
        /** Completed exactly once. */
        DONE
    }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(PendingOperation.class, "state", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final ByteBuffer[] NO_BUFFERS = new ByteBuffer[0];

    private final EngineSocket socket;
    private final Kind kind;
    private final Overlapped overlapped;
    private final long length;
    private final RdmaBufferDescriptor remoteDescriptor;
    private final long remoteOffset;
    private final TransportRegion[] regions;
    private ByteBuffer[] buffers;
    private Registration[] pins;
    private Object backendState;
    @SuppressWarnings("unused") // accessed through STATE
    private volatile State state = State.PENDING;
    /** The thread completing it, so a completion never waits for itself. */
    private volatile Thread completer;
    /** The thread handing it to the backend, while the backend's post runs (docs/rules.md OV-immediate). */
    private volatile Thread poster;
    /** A report the backend made inside its post, on the posting thread; only that thread reads or writes it. */
    private OverlappedResult earlyReport;

    PendingOperation(EngineSocket socket, Kind kind, Overlapped overlapped, ByteBuffer[] buffers, Registration[] pins,
            RdmaBufferDescriptor remoteDescriptor, long remoteOffset) {
        this.socket = socket;
        this.kind = kind;
        this.overlapped = overlapped;
        this.buffers = buffers;
        this.pins = pins;
        this.remoteDescriptor = remoteDescriptor;
        this.remoteOffset = remoteOffset;
        long total = 0;
        TransportRegion[] r = new TransportRegion[pins.length];
        for (int i = 0; i < buffers.length; i++) {
            total += buffers[i].remaining();
            r[i] = pins[i].region();
        }
        this.length = total;
        this.regions = r;
    }

    EngineSocket socket() {
        return socket;
    }

    Overlapped overlapped() {
        return overlapped;
    }

    State lvState() {
        return (State) STATE.getVolatile(this);
    }

    private boolean casState(State expected, State next) {
        return STATE.compareAndSet(this, expected, next);
    }

    /** PENDING → COMPLETING: {@code true} for the one party that completes this operation. */
    boolean tryClaim() {
        if (casState(State.PENDING, State.COMPLETING)) {
            completer = Thread.currentThread();
            return true;
        }
        return false;
    }

    /** COMPLETING → DONE, by the claimant. */
    void markDone() {
        completer = null;
        if (!casState(State.COMPLETING, State.DONE)) {
            throw new IllegalStateException("operation marked done twice or never claimed: " + this);
        }
    }

    boolean isCompletingOnThisThread() {
        return completer == Thread.currentThread();
    }

    /** The backend's post of this operation starts on this thread. */
    void beginPosting() {
        poster = Thread.currentThread();
    }

    /** Whether this thread is inside the backend's post of this operation right now. */
    boolean isBeingPostedOnThisThread() {
        return poster == Thread.currentThread();
    }

    /**
     * Keeps the outcome of a report that came inside the post, by the thread that claimed it there,
     * to be completed once the post call returned (docs/rules.md OV-immediate). No thread counts as
     * its completer until then, so a close or cleanup on any thread waits for that completion.
     */
    void holdEarlyReport(OverlappedResult result) {
        earlyReport = result;
        completer = null;
    }

    /** The backend's post returned (or threw): the report it made inside, or {@code null}. */
    OverlappedResult endPosting() {
        poster = null;
        OverlappedResult r = earlyReport;
        earlyReport = null;
        return r;
    }

    /** The thread that completes a held early report takes over as its completer. */
    void takeOverCompletion() {
        completer = Thread.currentThread();
    }

    /**
     * Releases the memory tied to this operation (docs/rules.md LC-b-memory: before its completion): its
     * pins on registrations, which releases a retired registration with its last pin, and its
     * references to the switch's buffers. By the claimant only.
     */
    void releaseMemory() {
        Registration[] p = pins;
        pins = null;
        buffers = NO_BUFFERS;
        if (p != null) {
            for (Registration r : p) {
                r.unpin();
            }
        }
    }

    /** The registrations it pins, for tests; empty once released. */
    Registration[] pinned() {
        Registration[] p = pins;
        return p == null ? new Registration[0] : p.clone();
    }

    @Override
    public Kind kind() {
        return kind;
    }

    @Override
    public ByteBuffer[] buffers() {
        return buffers;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public TransportRegion[] regions() {
        return regions;
    }

    @Override
    public RdmaBufferDescriptor remoteDescriptor() {
        return remoteDescriptor;
    }

    @Override
    public long remoteOffset() {
        return remoteOffset;
    }

    @Override
    public Object backendState() {
        return backendState;
    }

    @Override
    public void backendState(Object state) {
        this.backendState = state;
    }

    @Override
    public String toString() {
        return kind + "[" + length + " bytes on " + socket.handle() + ", " + lvState() + "]";
    }
}
