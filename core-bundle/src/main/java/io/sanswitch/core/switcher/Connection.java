package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;
import static io.sanswitch.spi.WsaError.WSAEFAULT;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;
import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One connection of the switch over one provider socket: the application's calls, the provider
 * sends ({@link SendSlots}) and receives ({@link ReceiveRing}, {@link DirectReceives}) it posts, and
 * the connection's end. All its state lives on its own {@link SerialQueue}: application calls, the
 * provider's completions and its handle closing are tasks there, so nothing here takes a lock, and
 * nothing the provider calls back ever waits.
 *
 * <p>Per connection the switch registers its send and receive buffers (docs/rules.md BG-registered), one each to begin
 * with, more as the traffic needs them. What goes on the wire is the {@link WireFormat} chosen when
 * the connection is made: the bytes as they are on a TCP provider ({@link PlainStream}),
 * {@link FramedStream frames} and RDMA {@link BlockTransfers blocks} on an RDMA provider (docs/rules.md BG-rdma-flows).
 * The sends wait in a {@link SendQueue}; what arrived waits in an {@link InboundBuffer}, and the
 * switch reads ahead until {@link #HIGH_WATER} bytes wait there, which is the flow control (docs/rules.md
 * BG-session: the switch's job); a framed peer that keeps to the {@link CreditWindow} of that size is
 * read from whatever waits, so its control frames are never held back by data (docs/rules.md SW-credit).
 *
 * <p>The connection holds its state and the application's calls; its jobs are done by
 * {@link ConnectionReceives} (the receive path), {@link ConnectionMoves} (parking, resuming, moving
 * back: docs/migration.md sections 4 and 6) and {@link ConnectionEnd} (close, abort, the end), which
 * read and write that state on the connection's queue.
 */
final class Connection implements SwitchSocket {
    /** The connection's log; its helper classes log under it too. */
    static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    /** The registered send buffers, and the receive buffers of a framed stream; a frame never exceeds one (see {@link Frames#MAX_FRAME}). */
    static final int BUFFER_BYTES = Frames.MAX_FRAME;
    /** The receive buffers of a plain stream, which has no frames to bound them: fewer, larger reads. */
    static final int PLAIN_RECEIVE_BYTES = 256 * 1024;
    static final long HIGH_WATER = 8L << 20;

    /**
     * The connection's lifecycle. STARTING until its buffers are registered; CLOSING while a graceful
     * close waits for the sends; it ends CLOSED (by this side: later calls fail with WSAENOTSOCK) or
     * BROKEN (later calls fail with {@link #laterError}). Written on the connection's queue only.
     */
    enum State {
        STARTING, OPEN, CLOSING, CLOSED, BROKEN;

        boolean terminal() {
            return this == CLOSED || this == BROKEN;
        }
    }

    /** An application receive waiting for bytes. */
    record PendingReceive(ByteBuffer into, CompletableFuture<Integer> done) {
    }

    final SwitchContext sw;
    /**
     * The provider socket carrying the connection now and what runs over it (docs/migration.md
     * section 4: the move replaces it, the application keeps this socket). Written on the
     * connection's queue only ({@link ConnectionMoves}); volatile for the calls that read it from any
     * thread (options, {@link #provider()}, statistics). A task on the queue reads it once.
     */
    volatile Carrier carrier;
    /** The choice made when the connection was made: says which side connected, whatever moves followed. */
    private final ProviderChoice choice;
    /**
     * docs/rules.md SW-migrate-visible: {@link #choice}, then one choice per move, the last
     * {@value ProviderHistory#MOVES_KEPT} of them kept. Immutable, replaced on the connection's queue
     * only ({@link ConnectionMoves}); volatile for the readers on other threads.
     */
    volatile ProviderHistory history;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final SerialQueue queue;
    /**
     * docs/rules.md SW-close-off-io: the provider calls that may wait for the peer, on the switch's close
     * threads: the deregistrations of dropped block buffers ({@link BlockPool}), the registrations made ahead
     * ({@link #prepareBlocks}), then the closeSocket of each carrier, in the order asked (a socket is closed
     * after what was deregistered on it).
     */
    final SerialQueue releases;
    // The contents of these are owned by the connection's queue, like the fields below.
    final SendQueue sends = new SendQueue();
    final InboundBuffer inbound;
    /** The receive path: the application's receives and the bytes for them. */
    final ConnectionReceives receiving = new ConnectionReceives(this);
    /** The moves between carriers (docs/migration.md sections 4 and 6). */
    final ConnectionMoves moves = new ConnectionMoves(this);
    /** Close, abort and the connection's end. */
    final ConnectionEnd end = new ConnectionEnd(this);

    // Everything below is owned by this connection's queue (written there by the connection and its
    // ConnectionEnd); state is volatile because isOpen, toString and the switch's statistics read it
    // from any thread.
    volatile State state = State.STARTING;
    /**
     * The application called close or abort: its options are refused from then on (WSAENOTSOCK), even
     * while the close still waits on the connection's queue. Written by the application's thread.
     */
    volatile boolean closeCalled;
    WsaError laterError = WSAENOTSOCK;
    /** What the pending receives failed with when the connection ended (for a receive lent to a block then). */
    WsaError pendingError = WSA_OPERATION_ABORTED;
    /** Where the connection ended (the switch's code that ended it), for the messages of its failures. */
    String endedAt = "";
    /** The registrations this connection holds (read by reflection in the itests' SwitchProbe). */
    private int liveRegistrations;
    private final boolean resumeSocket;

    Connection(SwitchContext sw, BoundProvider provider, SocketHandle handle, ProviderChoice choice,
            InetSocketAddress local, InetSocketAddress remote) {
        this(sw, provider, handle, choice, local, remote, false);
    }

    /**
     * @param resumeSocket the switch's own socket that carries a moved session (docs/migration.md
     *     section 6): it never migrates itself, the session over it does
     */
    Connection(SwitchContext sw, BoundProvider provider, SocketHandle handle, ProviderChoice choice,
            InetSocketAddress local, InetSocketAddress remote, boolean resumeSocket) {
        this.resumeSocket = resumeSocket;
        this.sw = sw;
        this.choice = choice;
        this.history = ProviderHistory.of(choice);
        this.local = local;
        this.remote = remote;
        this.queue = sw.newQueue("connection " + provider.name + " " + remote);
        this.releases = new SerialQueue(sw.closes(), "releases " + provider.name + " " + remote);
        this.inbound = new InboundBuffer(HIGH_WATER, sw.copyBuffers());
        this.carrier = carry(provider, handle);
    }

    /**
     * The carrier over {@code handle}: its wire format from the provider's capabilities (plain or
     * framed), its send slots and receives, not yet started.
     */
    private Carrier carry(BoundProvider provider, SocketHandle handle) {
        Carrier k = new Carrier(provider, handle);
        BoundProvider.Capabilities caps = provider.capabilities();
        if (caps.rdma()) {
            int configured = sw.settings().rdmaThresholdBytes();
            int threshold = Math.max(1, configured > 0 ? configured : caps.rdmaThreshold());
            long maxBlock = Math.min(BlockTransfers.SENT_BLOCK, caps.maxRdmaSize() > 0 ? caps.maxRdmaSize() : Frames.MAX_BLOCK);
            boolean readsBlocks = caps.rdmaRead() && !sw.settings().forceWriteFlow();
            boolean connector = choice.reason() != ProviderChoice.Reason.ACCEPTED;
            MigrationSettings m = resumeSocket ? sw.settings().migration().withMigrate(false) : sw.settings().migration();
            k.wire = new FramedStream(this, k, sends, inbound, threshold, readsBlocks, maxBlock, m,
                    connector, sw.resumePort());
        } else {
            k.wire = new PlainStream(this, caps.maxMessageSize());
        }
        // Several provider sends and receives in flight on either format, so the provider has the
        // next frames while the switch handles the last: a block's announcement, the peer's DONE and
        // the next announcement no longer queue behind each other's completions. Order holds: sends
        // retire and receives are processed in posting order, and a provider keeps a stream's order
        // (UCX matches one endpoint's tagged messages in order; a frame never exceeds a receive
        // buffer, so none goes through its staging copy).
        k.slots = new SendSlots(this, k, sends, k.wire, SendSlots.MAX_IN_FLIGHT);
        k.ring = new ReceiveRing(this, k, caps.rdma() ? BUFFER_BYTES : PLAIN_RECEIVE_BYTES, ReceiveRing.SIZE,
                receiving::received, receiving::wantsBytes);
        k.direct = new DirectReceives(this, k, receiving.receives, !caps.rdma(), receiving::mayLend, receiving::peerClosed);
        return k;
    }

    /**
     * Registers the connection's buffers and posts its first receive, on its queue; {@code ready}
     * completes with this connection, or with the failure (the provider socket is then closed).
     */
    void start(CompletableFuture<SwitchSocket> ready) {
        queue.execute(() -> {
            Carrier k = carrier;
            try {
                k.slot = k.provider.slotOf(k.handle);
                if (k.slot == null) {
                    throw new WsaException(WSAECONNRESET, "the provider closed the socket before it was used");
                }
                k.slot.reason(Switch.describe(choice, local, remote));
                k.slots.start();
                k.ring.start();
            } catch (WsaException e) {
                end.terminate(e.error(), WSAENOTSOCK);
                ready.completeExceptionally(e);
                return;
            }
            state = State.OPEN;
            sw.opened(this);
            k.slot.whenClosed(() -> queue.execute(() -> end.closedByProvider(k)));
            k.wire.opened();
            receiving.pumpReceive();
            pumpSend();
            ready.complete(this);
        });
    }

    // ------------------------------------------------------------------ application side

    @Override
    public CompletionStage<Integer> send(ByteBuffer data) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (data == null) {
            done.completeExceptionally(new WsaException(WSAEFAULT, "no buffer"));
            return done;
        }
        // On the caller's thread when the connection is idle: no hop to a switch thread (issue 12).
        queue.executeHere(() -> {
            if (state != State.OPEN) {
                done.completeExceptionally(refusal("send"));
            } else if (!data.hasRemaining()) {
                done.complete(0);
            } else {
                sends.add(data, done);
                pumpSend();
            }
        });
        return done;
    }

    @Override
    public CompletionStage<Integer> receive(ByteBuffer into) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (into == null || into.isReadOnly()) {
            done.completeExceptionally(new WsaException(WSAEFAULT, "no writable buffer"));
            return done;
        }
        queue.executeHere(() -> {
            if (state != State.OPEN) {
                done.completeExceptionally(refusal("receive"));
            } else if (!into.hasRemaining()) {
                done.complete(0);
            } else {
                receiving.add(new PendingReceive(into, done));
            }
        });
        return done;
    }

    private WsaException refusal(String what) {
        return new WsaException(state == State.BROKEN ? laterError : WSAENOTSOCK,
                what + " on a " + state.name().toLowerCase() + " connection to " + remote + " (ended at " + endedAt + ")");
    }

    @Override
    public void close() {
        closeCalled = true;
        queue.execute(end::close);
    }

    @Override
    public void abort() {
        closeCalled = true;
        queue.execute(end::abortNow);
    }

    @Override
    public InputStream inputStream() {
        return SocketStreams.input(this);
    }

    @Override
    public OutputStream outputStream() {
        return SocketStreams.output(this);
    }

    @Override
    public String provider() {
        return carrier.name;
    }

    @Override
    public ProviderChoice choice() {
        return history.last();
    }

    @Override
    public List<ProviderChoice> history() {
        return history.choices();
    }

    @Override
    public long movesLeftOut() {
        return history.leftOut();
    }

    /**
     * What {@code san:sockets} shows for this connection's provider socket from now on: a resume socket
     * shows the moved connection it carries (docs/rules.md SW-migrate-visible). Any thread: the slot was
     * set before the socket was handed out, its reason is volatile.
     */
    void describedAs(String reason) {
        Carrier k = carrier;
        if (k.slot != null) {
            k.slot.reason(reason);
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public boolean isOpen() {
        return state == State.OPEN;
    }

    // ------------------------------------------------------------------ options (docs/rules.md SW-replay)

    /** Straight to the provider socket carrying the connection: the SPI's calls may come from any thread. */
    @Override
    public <T> void setOption(SanSocketOption<T> option, T value) throws WsaException {
        requireUsable(option);
        Carrier k = carrier;
        if (k.resumed != null) {
            k.resumed.setOption(option, value);
            return;
        }
        SocketOptions.set(k.spi, k.handle, option, value);
    }

    @Override
    public <T> T getOption(SanSocketOption<T> option) throws WsaException {
        requireUsable(option);
        Carrier k = carrier;
        if (k.resumed != null) {
            return k.resumed.getOption(option);
        }
        return SocketOptions.get(k.spi, k.handle, option);
    }

    private void requireUsable(SanSocketOption<?> option) throws WsaException {
        if (option == null) {
            throw new IllegalArgumentException("no option (null)");
        }
        State now = state;
        if (now.terminal() || now == State.CLOSING || (closeCalled && now != State.BROKEN)) {
            throw new WsaException(now == State.BROKEN ? WSAECONNRESET : WSAENOTSOCK, option + " on " + this + ": the connection is "
                    + now.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    // ------------------------------------------------------------------ sending

    /** Posts provider sends of what waits, as far as the send slots allow. */
    void pumpSend() {
        if (state != State.OPEN && state != State.CLOSING || moves.moving()) {
            return;
        }
        Carrier k = carrier;
        if (k.resumed != null) {
            k.resumed.pumpSend();
        } else {
            k.slots.pump();
        }
    }

    // ------------------------------------------------------------------ receiving (ConnectionReceives)

    /** A moved connection's resume socket ended gracefully: the peer closed (docs/rules.md BG-close). */
    void peerEnded() {
        receiving.peerClosed();
    }

    /** See {@link ConnectionReceives#arrived}. */
    void arrived(ByteBuffer bytes) {
        receiving.arrived(bytes);
    }

    /** Hands received bytes to waiting receives, in order; the end of the stream as -1. */
    void deliver() {
        receiving.deliver();
    }

    // ------------------------------------------------------------------ failures

    /**
     * An overlapped whose completion runs on this connection's queue: {@code first} always, then
     * nothing if the connection has ended meanwhile, {@link #failed} if the operation failed, else
     * {@code onSuccess}.
     *
     * <p>A successful completion runs at once on the provider's thread when the queue is idle, as a
     * provider's own completion callback would post the next operation (issue 12: no hop). A failed
     * one, and any once the provider is withdrawn, is only enqueued: the aborted completions of a
     * final cleanup come on the framework thread stopping a bundle, which must not run switch code.
     * The provider allows SPI calls from inside its upcalls (docs/rules.md LC-reentrant), and what runs here never
     * blocks, so a cleanup waiting for this completion waits briefly.
     */
    Overlapped whenDone(Runnable first, IoCompletion onSuccess) {
        return whenDoneSeeing(r -> first.run(), onSuccess);
    }

    /** As {@link #whenDone(Runnable, IoCompletion)}, {@code first} seeing the operation's result. */
    Overlapped whenDoneSeeing(IoCompletion first, IoCompletion onSuccess) {
        // The carrier the operation was posted on: once the connection has moved to another, what
        // completes on the old one only releases what it held (docs/migration.md section 4).
        Carrier posted = carrier;
        return Overlapped.notifying((IoCompletion) r -> {
            Runnable completion = () -> {
                first.completed(r);
                if (state.terminal() || posted != carrier || moves.moving()) {
                    return;
                }
                if (!r.isSuccess()) {
                    failed(r.error());
                    return;
                }
                onSuccess.completed(r);
            };
            if (r.isSuccess() && !posted.retired()) {
                queue.executeHere(completion);
            } else {
                queue.execute(completion);
            }
        });
    }

    Overlapped whenDone(IoCompletion onSuccess) {
        return whenDone(() -> {
        }, onSuccess);
    }

    /**
     * The policy for every operation of this connection that fails, posted or refused: the
     * connection ends. What the application has pending fails with the operation's error, read as
     * {@code WSA_OPERATION_ABORTED} when the operation was aborted (closeSocket or the provider's
     * final cleanup, see {@link ProviderGoing}); everything after sees the connection reset.
     */
    void failed(WsaError error) {
        if (moves.moves("the provider reported " + error, error)) {
            return;
        }
        end.terminate(error, WSAECONNRESET);
    }

    /**
     * A provider call refused with {@code e}: {@link #failed}, unless the provider is going away;
     * then its closeSocketHandle upcall ends the connection (see {@link #providerGoing}).
     */
    void refused(WsaException e) {
        if (!providerGoing(e)) {
            failed(e.error());
        }
    }

    /**
     * A call refused because the provider is going away: the connection is not ended here but by the
     * provider's closeSocketHandle upcall, which its final cleanup makes for every socket after it
     * aborted the pending operations (docs/rules.md LC-b, LC-c). Queued behind every call the application made
     * before the bundle stop, it makes those calls fail as aborted rather than as a reset
     * ({@link ProviderGoing#refusal}).
     */
    boolean providerGoing(WsaException e) {
        if (ProviderGoing.refusal(e.error(), carrier.retired())) {
            LOG.trace("{}: {} refused, the provider is going away", this, e.error());
            return true;
        }
        return false;
    }

    /**
     * The peer broke the session protocol (docs/security.md, SEC-5): the connection ends with
     * {@code WSAECONNRESET} for what is pending and what comes later, and the peer gets a RESET before
     * the socket closes (see {@link ConnectionEnd#protocolError}).
     */
    void protocolError(String what) {
        end.protocolError(what);
    }

    // ------------------------------------------------------------------ the move (ConnectionMoves, docs/migration.md section 4)

    /** Whether this side accepted the connection (it waits for the dial at a move). */
    boolean accepted() {
        return !connector();
    }

    /** Whether this side connected (it dials at a move, docs/rules.md SW-migrate-connector-dials). */
    boolean connector() {
        return choice.reason() != ProviderChoice.Reason.ACCEPTED;
    }

    /** See {@link ConnectionMoves#peerResumes}. */
    void peerResumes() {
        moves.peerResumes();
    }

    /** See {@link ConnectionMoves#maybeReturn}. */
    void maybeReturn() {
        moves.maybeReturn();
    }

    /** The peer's RETURN arrived (docs/migration.md section 6): a move back is tried after what runs now. */
    void peerMayTakeBack() {
        later(moves::maybeReturn);
    }

    /** See {@link ConnectionMoves#announceReturn}. */
    void announceReturn(int port) {
        moves.announceReturn(port);
    }

    /** Whether this connection runs over an RDMA provider now (a resume socket over UCX, for one). */
    boolean overRdma() {
        Carrier k = carrier;
        return k.provider != null ? k.provider.rdma() : k.resumed != null && k.resumed.overRdma();
    }

    /** See {@link ConnectionMoves#providerWithdrawn}. */
    void providerWithdrawn(CompletableFuture<Void> told) {
        moves.providerWithdrawn(told);
    }

    /** See {@link ConnectionMoves#peerMoves}. */
    void peerMoves() {
        moves.peerMoves();
    }

    /** Whether this is a resume socket whose peer may send MOVE for the session it carries. */
    boolean carriesSession() {
        return resumeSocket;
    }

    /** A resume socket's owner, run (on this queue) when the peer's MOVE arrives on it. */
    void whenPeerMoves(Runnable owner) {
        moves.whenPeerMoves(owner);
    }

    /** See {@link ConnectionMoves#tellPeerMoves}. */
    CompletableFuture<Boolean> tellPeerMoves() {
        return moves.tellPeerMoves();
    }

    /** Whether the provider under this connection was withdrawn (a resume socket's, for one). */
    boolean providerRetired() {
        return carrier.retired();
    }

    /** The peer's RESET frame: it aborted the connection. */
    void peerReset() {
        end.terminate(WSAECONNRESET, WSAECONNRESET);
    }

    boolean ended() {
        return state.terminal();
    }

    /** The connection is between two carriers (docs/migration.md section 4): the old one's work is dropped. */
    boolean moving() {
        return moves.moving();
    }

    /** Runs {@code task} on the connection's queue after what is queued there now. */
    void later(Runnable task) {
        queue.execute(task);
    }

    /**
     * Runs {@code task} on the connection's queue, on the calling thread if nobody runs the queue (a
     * successful completion's fast path, as {@link #whenDone} has it); never for a failure, which may
     * come from a provider's cleanup.
     */
    void here(Runnable task) {
        queue.executeHere(task);
    }

    /** Runs {@code task} on the connection's queue once {@code delay} has passed. */
    void after(Duration delay, Runnable task) {
        sw.schedule(() -> queue.execute(task), delay);
    }

    /** What the SESSION frames said (docs/migration.md section 2), or null: the connection does not migrate. */
    SessionIdentity session() {
        Carrier k = carrier;
        return k.resumed != null ? k.resumed.identity() : k.wire.session();
    }

    /** Bytes sent and kept until the peer acknowledges them (docs/migration.md section 5); any thread. */
    long retained() {
        Carrier k = carrier;
        return k.resumed != null ? k.resumed.retained() : k.wire.retained();
    }

    // ------------------------------------------------------------------ ending (ConnectionEnd)

    /** See {@link ConnectionEnd#finishCloseWhenIdle}. */
    void finishCloseWhenIdle() {
        end.finishCloseWhenIdle();
    }

    /** Sends a RESET frame on an ended connection, then closes its socket. */
    void sendReset() {
        end.sendReset();
    }

    /**
     * docs/rules.md SW-close-off-io: runs {@code call}, a provider call that may wait for the peer, on
     * {@link #releases}, then {@code after} on this queue; the receives then go on if they waited for it
     * ({@link ConnectionReceives#wantsBytes}).
     */
    void offQueue(Runnable call, Runnable after) {
        CompletableFuture.runAsync(call, releases).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("{}: a provider call off the queue failed", this, e);
            }
            queue.execute(() -> {
                after.run();
                if (!state.terminal()) {
                    receiving.pumpReceive();
                }
            });
        });
    }

    /**
     * docs/rules.md SW-migrate-back: a resume socket connected ahead of a move back registers the buffers of its
     * first blocks of {@code length} bytes before the move, off the io threads ({@link FramedStream#prepareBlocks}).
     */
    void prepareBlocks(int length) {
        queue.execute(() -> {
            if (!state.terminal() && carrier != null && carrier.wire instanceof FramedStream f) {
                f.prepareBlocks(length);
            }
        });
    }

    /** The switch's shared send batches, for this connection's moved session (docs/rules.md SW-migrate-buffers). */
    SharedBuffers batchBuffers() {
        return sw.batchBuffers();
    }

    void registered(int delta) {
        liveRegistrations += delta;
        sw.registrations(delta);
    }

    /** The connection's registrations are released (its socket closes or is handed to the close threads). */
    void releaseRegistrations() {
        registered(-liveRegistrations);
    }

    @Override
    public String toString() {
        Carrier k = carrier;
        return "SwitchSocket[" + k.name + " " + local + " -> " + remote + ", " + state + (k.resumed != null ? ", moved: " + k.resumed : "")
                + (moves.moving() ? ", moving" : "") + receiving.application() + "]";
    }
}
