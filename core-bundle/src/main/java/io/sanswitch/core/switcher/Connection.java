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
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
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
 */
final class Connection implements SwitchSocket {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    /** The registered send buffers, and the receive buffers of a framed stream; a frame never exceeds one (see {@link Frames#MAX_FRAME}). */
    static final int BUFFER_BYTES = Frames.MAX_FRAME;
    /** The receive buffers of a plain stream, which has no frames to bound them: fewer, larger reads. */
    static final int PLAIN_RECEIVE_BYTES = 256 * 1024;
    static final long HIGH_WATER = 8L << 20;
    /** The methods that end a connection; the first frame below them is where it ended. */
    private static final Set<String> ENDING = Set.of("endedAt", "terminate", "failed", "refused");

    /**
     * The connection's lifecycle. STARTING until its buffers are registered; CLOSING while a graceful
     * close waits for the sends; it ends CLOSED (by this side: later calls fail with WSAENOTSOCK) or
     * BROKEN (later calls fail with {@link #laterError}). Written on the connection's queue only.
     */
    private enum State {
        STARTING, OPEN, CLOSING, CLOSED, BROKEN;

        boolean terminal() {
            return this == CLOSED || this == BROKEN;
        }
    }

    /** An application receive waiting for bytes. */
    record PendingReceive(ByteBuffer into, CompletableFuture<Integer> done) {
    }

    private final SwitchContext sw;
    /**
     * The provider socket carrying the connection now and what runs over it (docs/migration.md
     * section 4: the move replaces it, the application keeps this socket). Written on the
     * connection's queue only; volatile for the calls that read it from any thread (options,
     * {@link #provider()}, statistics). A task on the queue reads it once.
     */
    private volatile Carrier carrier;
    /** The choice made when the connection was made: says which side connected, whatever moves followed. */
    private final ProviderChoice choice;
    /**
     * docs/rules.md SW-migrate-visible: {@link #choice}, then one choice per move, the last
     * {@value ProviderHistory#MOVES_KEPT} of them kept. Immutable, replaced on the connection's queue
     * only; volatile for the readers on other threads.
     */
    private volatile ProviderHistory history;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final SerialQueue queue;
    /**
     * docs/rules.md SW-close-off-io: the provider calls that may wait for the peer, on the switch's close
     * threads: the deregistrations of dropped block buffers ({@link BlockPool}), then the closeSocket of
     * each carrier, in the order asked (a socket is closed after what was deregistered on it).
     */
    private final SerialQueue releases;
    // The contents of these three are owned by the connection's queue, like the fields below.
    private final SendQueue sends = new SendQueue();
    private final InboundBuffer inbound;

    // Everything below is owned by this connection's queue; state is volatile because isOpen,
    // toString and the switch's statistics read it from any thread.
    private volatile State state = State.STARTING;
    /**
     * The application called close or abort: its options are refused from then on (WSAENOTSOCK), even
     * while the close still waits on the connection's queue. Written by the application's thread.
     */
    private volatile boolean closeCalled;
    private WsaError laterError = WSAENOTSOCK;
    /** What the pending receives failed with when the connection ended (for a receive lent to a block then). */
    private WsaError pendingError = WSA_OPERATION_ABORTED;
    /** Where the connection ended (the switch's code that ended it), for the messages of its failures. */
    private String endedAt = "";
    /**
     * docs/migration.md section 4: the connection is moving (its old carrier is dropped, the resume
     * not done yet): the application's calls queue, nothing is posted, and what completes on the old
     * carrier is ignored.
     */
    private boolean moving;
    /** Why the move failed, for the messages of the failures; null: it did not. */
    private String moveFailure;
    /** While moving: the session whose retention and counts go on over the next carrier. */
    private ParkedSession parked;
    /** The resume of the last move: done when it resumed or failed. */
    private CompletableFuture<ResumeDial.Resumed> moveUnderWay;
    /**
     * docs/rules.md SW-migrate-back, the connector's side: a resume socket to the peer's RDMA resume
     * port is being connected ({@link #connectingBack}) or is connected ({@link #connectedBack}) ahead of
     * the move back with the handshake's hello and challenge done over it, while the session still runs
     * over TCP; the move back then only proves and takes the accept.
     */
    private boolean connectingBack;
    private ResumeDial connectedBack;
    /** The connection ends by a graceful close whose sends are done (a resume socket closes, not resets). */
    private boolean graceful;
    private int liveRegistrations;
    private Future<?> closeTimer;
    private final ArrayDeque<PendingReceive> receives = new ArrayDeque<>();
    /** The receives lent to the peer's blocks, and the fence of a move (docs/rules.md SW-migrate-fence). */
    private final BlockLoans loans = new BlockLoans();
    private final boolean resumeSocket;
    /**
     * A resume socket's owner: told when the peer sends MOVE on it (docs/rules.md SW-migrate-early);
     * set on the owner's queue, read on this one's.
     */
    private volatile Runnable peerMovesOwner;

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
                this::received, this::wantsBytes);
        k.direct = new DirectReceives(this, k, receives, !caps.rdma(), this::mayLend, this::peerClosed);
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
                terminate(e.error(), WSAENOTSOCK);
                ready.completeExceptionally(e);
                return;
            }
            state = State.OPEN;
            sw.opened(this);
            k.slot.whenClosed(() -> queue.execute(() -> closedByProvider(k)));
            k.wire.opened();
            pumpReceive();
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
                receives.add(new PendingReceive(into, done));
                deliver();
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
        queue.execute(() -> {
            if (state != State.OPEN && state != State.STARTING) {
                return;
            }
            state = State.CLOSING;
            failReceives(WSA_OPERATION_ABORTED, "closed");
            Carrier k = carrier;
            if (k.direct != null) {
                k.direct.doom(new WsaException(WSA_OPERATION_ABORTED, "receive from " + remote + " ended: closed"));
            }
            closeTimer = sw.schedule(() -> queue.execute(() -> {
                if (state == State.CLOSING) {
                    LOG.warn("{}: graceful close timed out after {}; aborting", this, sw.settings().closeTimeout());
                    abortNow();
                }
            }), sw.settings().closeTimeout());
            finishCloseWhenIdle();
        });
    }

    @Override
    public void abort() {
        closeCalled = true;
        queue.execute(this::abortNow);
    }

    private void abortNow() {
        if (state.terminal()) {
            return;
        }
        Carrier k = carrier;
        if (k.retired() || k.resumed != null || moving) {
            terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
            return;
        }
        // A provider that can reset the connection on close does so with no linger (TCP RST).
        lingerZero();
        // Framed: the peer learns of the abort from a RESET frame sent before the close.
        if (k.wire.resets() && state != State.STARTING && k.slots.idle() && postReset()) {
            terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK, false);
            return;
        }
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
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
        if (state != State.OPEN && state != State.CLOSING || moving) {
            return;
        }
        Carrier k = carrier;
        if (k.resumed != null) {
            k.resumed.pumpSend();
        } else {
            k.slots.pump();
        }
    }

    // ------------------------------------------------------------------ receiving

    private void pumpReceive() {
        if (moving) {
            return;
        }
        Carrier k = carrier;
        if (k.resumed != null) {
            k.resumed.pumpReceive();
            return;
        }
        k.direct.pump();
        k.ring.pump();
    }

    /**
     * Whether the switch reads ahead into its ring: open, the peer has not closed, the application
     * keeps up or the peer keeps to our window (docs/rules.md SW-credit: the control frames behind the
     * data are read whatever waits), no application buffer is (to be) lent, whose bytes a ring
     * receive would take, and no block pool has as many dropped buffers waiting for their
     * deregistration as it keeps free (docs/rules.md SW-close-off-io: a peer that never acknowledges).
     */
    private boolean wantsBytes() {
        return !inbound.isPeerClosed() && (!inbound.full() || windowed()) && (state == State.OPEN || state == State.CLOSING)
                && !moving && carrier.direct != null && !carrier.direct.holdsStream()
                && !(carrier.wire instanceof FramedStream f && f.releasesFull());
    }

    private boolean windowed() {
        WireFormat wire = carrier.wire;
        return wire != null && wire.windowed();
    }

    /** docs/rules.md SW-credit: the application took {@code n} bytes of the peer's stream. */
    private void consumed(int n) {
        WireFormat wire = carrier.wire;
        if (wire != null && !moving) {
            wire.consumed(n);
        }
    }

    /** Whether a receive posted now gets the next bytes of the stream: nothing is ahead of it. */
    private boolean mayLend() {
        return state == State.OPEN && carrier.ring.posted() == 0 && inbound.isEmpty() && !inbound.isPeerClosed();
    }

    /** The bytes of one provider receive, in stream order (the buffer is reused afterwards). */
    private void received(ByteBuffer bytes) {
        if (!bytes.hasRemaining()) {
            peerClosed();
            return;
        }
        carrier.wire.received(bytes);
        if (state.terminal()) {
            return;
        }
        deliver();
    }

    /** A moved connection's resume socket ended gracefully: the peer closed (docs/rules.md BG-close). */
    void peerEnded() {
        peerClosed();
    }

    /** docs/rules.md BG-close: the peer closed; its last bytes came before. */
    private void peerClosed() {
        inbound.peerClosed();
        deliver();
        if (state == State.CLOSING) {
            finishCloseNow();
        }
    }

    /**
     * Application bytes of the stream arrived in {@code bytes} (valid during this call only): straight
     * into the waiting receives if nothing waits ahead of them, the rest into the inbound buffer.
     */
    void arrived(ByteBuffer bytes) {
        if (moving) {
            return; // docs/migration.md section 4: not counted, the peer sends it again
        }
        // docs/rules.md SW-migrate-fence: while a fenced receive waits, the bytes wait behind it.
        if (inbound.isEmpty() && !loans.holds()) {
            int taken = 0;
            while (bytes.hasRemaining() && !receives.isEmpty()) {
                PendingReceive r = receives.poll();
                int n = Math.min(bytes.remaining(), r.into().remaining());
                r.into().put(bytes.duplicate().limit(bytes.position() + n));
                bytes.position(bytes.position() + n);
                taken += n;
                r.done().complete(n);
            }
            if (taken > 0) {
                consumed(taken);
            }
        }
        if (bytes.hasRemaining()) {
            inbound.add(bytes);
        }
    }

    /**
     * The application's receive a block of {@code length} bytes may be read straight into (taken off
     * the receives), or null: the receive at the head has a direct buffer with room for the whole
     * block, and nothing waits ahead of the block but blocks lent to the receives before it (so its
     * bytes are the receive's next).
     */
    BlockLoans.Loan receiveForBlock(int length) {
        PendingReceive head = receives.peek();
        if (state != State.OPEN || moving || loans.holds() || head == null || !inbound.onlyLent() || !head.into().isDirect()
                || head.into().remaining() < length) {
            return null;
        }
        return loans.lend(receives.poll());
    }

    /** A receive from {@link #receiveForBlock} whose block's read was never posted: back at the head (it is the last lent). */
    void receiveNotLent(BlockLoans.Loan l) {
        loans.answered(l);
        receives.addFirst(l.receive);
    }

    /**
     * The read of a block lent {@code l}'s receive completed on its provider, before anything else of
     * its completion: the provider writes no more into the buffer. A receive of a connection that
     * ended fails now; a fenced one waits for the fence to lift (docs/rules.md SW-migrate-fence); after
     * a failure the connection moves next (which fences it) or ends (which fails it).
     */
    void lentReadOver(BlockLoans.Loan l, boolean success) {
        boolean fenced = loans.readOver(l, success && !state.terminal());
        if (state.terminal()) {
            receiveEnded(l);
        } else if (fenced) {
            liftFence();
        }
    }

    /**
     * docs/rules.md SW-migrate-fence: once every read fenced at a move has completed, the fenced
     * receives go back to the head of the receives, in stream order, emptied of their blocks (the peer
     * sends those again), and the bytes waiting behind them are delivered.
     */
    private void liftFence() {
        List<PendingReceive> back = loans.lift();
        if (back.isEmpty()) {
            return;
        }
        if (state != State.OPEN) {
            // Closing (the other receives were aborted when close was called) or ended.
            WsaError error = state.terminal() ? pendingError : WSA_OPERATION_ABORTED;
            String why = state.terminal() ? endedAt : "closed";
            back.forEach(r -> r.done().completeExceptionally(new WsaException(error, "receive from " + remote + " ended: " + why)));
            return;
        }
        for (int i = back.size() - 1; i >= 0; i--) {
            receives.addFirst(back.get(i));
        }
        deliver();
    }

    /** The block was read into {@code l}'s buffer ({@code n} bytes, its position moved past them). */
    void receiveFilled(BlockLoans.Loan l, int n) {
        loans.answered(l);
        PendingReceive r = l.receive;
        if (state == State.OPEN) {
            consumed(n);
            r.done().complete(n);
        } else {
            // Closing: the other receives were aborted when close was called.
            r.done().completeExceptionally(new WsaException(WSA_OPERATION_ABORTED, "receive from " + remote + " ended: closed"));
        }
    }

    /**
     * The connection ended while a block was read into {@code r}'s buffer; now that the read has
     * completed (the provider writes no more into it), it fails as the pending receives did.
     */
    void receiveEnded(BlockLoans.Loan l) {
        loans.answered(l);
        l.receive.done().completeExceptionally(new WsaException(pendingError, "receive from " + remote + " ended: " + endedAt));
    }

    /** Hands received bytes to waiting receives, in order; the end of the stream as -1. */
    void deliver() {
        int taken = 0;
        // docs/rules.md SW-migrate-fence: no receive gets bytes ahead of a fenced one.
        while (!receives.isEmpty() && !loans.holds()) {
            int n = inbound.take(receives.peek().into());
            if (n == 0) {
                break;
            }
            taken += Math.max(n, 0);
            receives.poll().done().complete(n);
        }
        if (taken > 0) {
            consumed(taken);
        }
        pumpReceive();
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
                if (state.terminal() || posted != carrier || moving) {
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
        if (moves("the provider reported " + error, error)) {
            return;
        }
        terminate(error, WSAECONNRESET);
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
     * the socket closes (once the sends in flight are done: the RESET follows their frames).
     */
    void protocolError(String what) {
        if (state.terminal()) {
            return;
        }
        LOG.warn("{}: session protocol error: {}; resetting", this, what);
        terminate(WSAECONNRESET, WSAECONNRESET, false);
        lingerZero();
        if (carrier.resumed != null || moving) {
            closeSocketQuietly();
        } else if (carrier.slots.resetWhenDone()) {
            // A send that never completes must not keep the socket open.
            sw.schedule(() -> queue.execute(this::closeSocketQuietly), sw.settings().closeTimeout());
        } else {
            sendReset();
        }
    }

    // ------------------------------------------------------------------ the move (docs/migration.md section 4)

    /**
     * docs/rules.md SW-migrate-trigger: the provider socket failed or its provider went away while the
     * session is migratable: instead of ending, the connection parks (its application side stays as
     * it is) and moves to TCP between the same two switches: the connector dials the peer's resume
     * port (SW-migrate-connector-dials), the acceptor waits for that dial in the switch's
     * {@link ParkedSessions}.
     *
     * @param error what the provider reported, or null
     * @return whether the connection moves (else it ends as before)
     */
    private boolean moves(String reason, WsaError error) {
        return moves(reason, error, false);
    }

    /**
     * @param back docs/rules.md SW-migrate-back: a move of a session on TCP back to RDMA, which the
     *     connector begins once the RDMA provider is up on both sides; it dials the peer's RDMA resume
     *     port, and its TCP resume port if that fails
     */
    private boolean moves(String reason, WsaError error, boolean back) {
        Carrier k = carrier;
        if (state != State.OPEN || closeCalled || moving || !sw.settings().migration().migrate()) {
            return false;
        }
        SessionIdentity identity;
        if (k.resumed != null) {
            identity = k.resumed.identity(); // docs/migration.md section 6: a moved session moves again
        } else if (k.wire instanceof FramedStream f && f.movable()) {
            identity = f.session();
        } else {
            String why = k.wire instanceof FramedStream f ? f.notMovable() : "";
            if (!why.isEmpty()) {
                LOG.info("{}: does not move ({}): {}", this, reason, why);
            }
            return false;
        }
        boolean connector = connector();
        if (connector ? identity.peerResumePort() == 0 : sw.resumePort() == 0) {
            LOG.info("{}: does not move ({}): no resume port on the {}", this, reason, connector ? "peer" : "switch");
            return false;
        }
        moving = true;
        // docs/rules.md SW-migrate-visible: the application's calls are held from here to the resume.
        ProviderMove.Cause cause = back ? ProviderMove.Cause.PROVIDER_RETURNED
                : k.retired() ? ProviderMove.Cause.PROVIDER_WITHDRAWN : ProviderMove.Cause.CONNECTION_FAILED;
        MoveStart began = new MoveStart(k.name, reason, cause, cause == ProviderMove.Cause.CONNECTION_FAILED ? error : null,
                Instant.now(), System.nanoTime());
        SessionId id = SessionId.of(identity.id());
        SessionKey key = connector ? SessionKey.derive(identity.ownSecret(), id, identity.peerSecret())
                : SessionKey.derive(identity.peerSecret(), id, identity.ownSecret());
        int returnPort = k.resumed != null ? k.resumed.peerReturnPort() : 0;
        // The old carrier's part ends; the application's stays: what was taken of its sends is in
        // the retention (they complete), what arrived in order waits, the rest comes again.
        if (k.resumed != null) {
            parked = k.resumed.moved();
        } else {
            parked = ((FramedStream) k.wire).moved();
            closeOffQueue(k, "closeSocket at the move", () -> {
            });
        }
        // docs/rules.md SW-migrate-fence: the receives lent to the old carrier's reads wait for them,
        // aborted by that close or done before it.
        loans.fence();
        inbound.dropFromFirstMissing();
        sends.acknowledgeTaken();
        registered(-liveRegistrations);
        long received = parked.received();
        InetSocketAddress tcpAt = new InetSocketAddress(remote.getAddress(), identity.peerResumePort());
        ResumeDial ahead = takeConnectedBack();
        if (ahead != null && !(back && connector)) {
            ahead.abort(); // a move of another kind came first
            ahead = null;
        }
        CompletableFuture<ResumeDial.Resumed> resumed = !connector ? sw.parkSession(id, key, received)
                : back ? sw.dialBack(new InetSocketAddress(remote.getAddress(), returnPort), tcpAt, id, key, received, ahead)
                : sw.dialResume(tcpAt, id, key, received);
        moveUnderWay = resumed;
        resumed.whenComplete((r, e) -> queue.execute(() -> resumedOrNot(r, e, began)));
        liftFence(); // when no fenced read is in flight (a failed one began the move, or none was lent)
        return true;
    }

    /** The resume socket connected ahead of a move back, now the move's (null: none). */
    private ResumeDial takeConnectedBack() {
        ResumeDial s = connectedBack;
        connectedBack = null;
        return s;
    }

    /** Whether this side accepted the connection (it waits for the dial at a move). */
    boolean accepted() {
        return !connector();
    }

    /**
     * docs/rules.md SW-migrate-proof: a proven dial for this session came while it still runs here:
     * the peer moved it and this side has not noticed (its carrier has not failed yet, or no receive
     * of it is posted). It parks now, for the dial that follows.
     */
    void peerResumes() {
        moves("the peer resumes the session elsewhere", null);
    }

    /** Whether this side connected (it dials at a move, docs/rules.md SW-migrate-connector-dials). */
    private boolean connector() {
        return choice.reason() != ProviderChoice.Reason.ACCEPTED;
    }

    /**
     * docs/rules.md SW-migrate-back, the connector's side: a session moved to TCP goes back to RDMA once
     * the peer announced its RDMA resume port and an RDMA provider runs here too. On the queue; called
     * when the peer's RETURN arrives and when an RDMA provider starts on this switch.
     */
    void maybeReturn() {
        Carrier k = carrier;
        if (k.resumed == null || !connector() || k.resumed.overRdma() || k.resumed.peerReturnPort() == 0
                || !sw.settings().migration().moveBack() || !sw.rdmaUp()) {
            return;
        }
        if (k.resumed.leaving() || moving || state != State.OPEN || closeCalled || connectingBack) {
            return;
        }
        // The RDMA connection first, and the handshake's first round trip, while the stream goes on over
        // TCP: the application waits only for the MOVE's answer and the proof's, not for the connect.
        // One that fails leaves the session on TCP until the next RETURN or RDMA provider start.
        ResumedStream leaving = k.resumed;
        connectingBack = true;
        SessionIdentity identity = leaving.identity();
        SessionId id = SessionId.of(identity.id());
        sw.connectBack(new InetSocketAddress(remote.getAddress(), leaving.peerReturnPort()), id,
                SessionKey.derive(identity.ownSecret(), id, identity.peerSecret()))
                .whenComplete((s, e) -> queue.execute(() -> connectedBack(leaving, s, e)));
    }

    /** On the queue: the resume socket connected ahead of the move back, or not. */
    private void connectedBack(ResumedStream leaving, ResumeDial s, Throwable e) {
        connectingBack = false;
        if (e != null) {
            LOG.info("{}: stays on {}: connecting to the peer's RDMA resume port failed: {}", this, leaving.provider(),
                    ResumedStream.reason(e));
            return;
        }
        if (carrier.resumed != leaving || leaving.leaving() || moving || state != State.OPEN || closeCalled) {
            s.abort();
            return;
        }
        connectedBack = s;
        // The peer parks at the MOVE and ends the socket; that end is the sign to dial. A peer that
        // never answers does not hold the session: the move goes on after the resume timeout.
        leaving.leave();
        after(sw.settings().migration().resumeTimeout(), () -> {
            // Still on the socket it was leaving, and no move under way (a move's dial may outlast this timer).
            if (carrier.resumed == leaving && !moving && !state.terminal()) {
                returnReady();
            }
        });
    }

    /** The connector's MOVE was answered (the peer ended the socket) or not in time: the move back begins. */
    void returnReady() {
        if (moving || state.terminal()) {
            return;
        }
        if (!moves("the RDMA provider is up on both sides", null, true)) {
            moveFailed(WSAECONNRESET, "the move back to RDMA could not begin");
        }
    }

    /** The acceptor's side of a move back: the connector's MOVE arrived; the session parks for its dial. */
    void peerMovesBack() {
        if (!moves("the peer moves the session back to RDMA", null, true)) {
            moveFailed(WSAECONNRESET, "the peer moved the session back to RDMA, and it cannot move here");
        }
    }

    /** The peer's RETURN arrived (docs/migration.md section 6): a move back is tried after what runs now. */
    void peerMayTakeBack() {
        later(this::maybeReturn);
    }

    /**
     * docs/rules.md SW-migrate-back, the acceptor's side: tells the connector of a session moved to TCP
     * where this switch's RDMA resume port is now ({@code port}; 0: none). On the queue.
     */
    void announceReturn(int port) {
        Carrier k = carrier;
        if (k.resumed != null && !connector() && !k.resumed.overRdma() && !moving && state == State.OPEN
                && sw.settings().migration().moveBack()) {
            k.resumed.announceReturn(port);
        }
    }

    /**
     * A moved session's resume socket failed: the session moves again (its provider went, or the peer
     * moves it back, docs/migration.md section 6), else the connection fails as a peer's reset.
     */
    void resumeSocketFailed(String why) {
        if (!moves(why, null)) {
            moveFailed(WSAECONNRESET, why);
        }
    }

    /** Whether this connection runs over an RDMA provider now (a resume socket over UCX, for one). */
    boolean overRdma() {
        Carrier k = carrier;
        return k.provider != null ? k.provider.rdma() : k.resumed != null && k.resumed.overRdma();
    }

    /**
     * docs/rules.md SW-migrate-early: a provider was withdrawn; if it carries this connection (or its
     * resume socket) and the session can move, the move begins now, on the queue, while the provider's
     * final cleanup runs: the connector dials at once, the acceptor parks before the dial comes. What
     * cannot move is left to the cleanup, which ends it as before (SW-withdrawn). The reads lent to the
     * provider are fenced until the cleanup aborts them (SW-migrate-fence).
     */
    void providerWithdrawn(CompletableFuture<Void> told) {
        Carrier k = carrier;
        boolean framed = k.resumed == null && k.wire instanceof FramedStream f && f.movable();
        if (!k.retired() || moving || state != State.OPEN || closeCalled || !framed && k.resumed == null) {
            told.complete(null);
            return;
        }
        // MOVE goes after what is in flight and tells the peer now, not at the cleanup's reset; its
        // end of the old socket is dropped (the cleanup resets it). A moved-back session's resume
        // socket over RDMA carries the MOVE as a frame of its own; over TCP none goes (there a MOVE is
        // the move back). The withdrawal waits for the resume (a forced close at the cleanup may drop a
        // MOVE UCX has taken but not delivered).
        boolean moveSent = framed ? k.slots.postLast(new Frame.Move(), Overlapped.notifying((IoCompletion) r -> {
        }), true) : k.resumed.tellMove();
        // Worth the wait: the connector's own dial, or an acceptor's peer that was told.
        if (moves("the provider is withdrawn", null) && (connector() || moveSent)) {
            moveUnderWay.whenComplete((r, e) -> told.complete(null));
        } else {
            told.complete(null);
        }
    }

    /**
     * docs/rules.md SW-migrate-early, the peer's side: its provider is withdrawn and its session
     * moves; so does this side's (the connector dials, the acceptor parks), else it ends as at a reset.
     */
    void peerMoves() {
        if (resumeSocket) {
            // The session over this socket moves, not the socket: its owner resets it as it leaves.
            Runnable owner = peerMovesOwner;
            if (owner != null) {
                owner.run();
            }
            return;
        }
        if (!moves("the peer's provider is withdrawn", null)) {
            terminate(WSAECONNRESET, WSAECONNRESET);
        }
    }

    /** Whether this is a resume socket whose peer may send MOVE for the session it carries. */
    boolean carriesSession() {
        return resumeSocket;
    }

    /** A resume socket's owner, run (on this queue) when the peer's MOVE arrives on it. */
    void whenPeerMoves(Runnable owner) {
        peerMovesOwner = owner;
    }

    /**
     * docs/rules.md SW-migrate-early on a resume socket over RDMA (a session moved back): the session
     * it carries moves because the provider under it goes. MOVE goes as a frame of this socket's own,
     * behind only what its provider already has: the carried stream's bytes queued ahead of it would
     * reach the peer's session only as fast as the peer's application reads. Any thread.
     *
     * @return completes once the MOVE's send is over, with whether it was posted at all
     */
    CompletableFuture<Boolean> tellPeerMoves() {
        CompletableFuture<Boolean> sent = new CompletableFuture<>();
        queue.execute(() -> {
            Carrier k = carrier;
            boolean posted = resumeSocket && state == State.OPEN && k.resumed == null && k.wire instanceof FramedStream
                    && k.slots.postLast(new Frame.Move(), Overlapped.notifying((IoCompletion) r -> sent.complete(true)), true);
            if (!posted) {
                sent.complete(false);
            }
        });
        return sent;
    }

    /** Whether the provider under this connection was withdrawn (a resume socket's, for one). */
    boolean providerRetired() {
        return carrier.retired();
    }

    /** A move under way: from which provider, why, and when the application's calls began to be held. */
    private record MoveStart(String from, String reason, ProviderMove.Cause cause, WsaError error, Instant when,
            long nanos) {
    }

    /** On the queue: the resume succeeded (the session goes on over its socket) or failed (the connection fails). */
    private void resumedOrNot(ResumeDial.Resumed r, Throwable e, MoveStart began) {
        if (state.terminal()) {
            // The application aborted meanwhile.
            if (r != null) {
                r.socket().abort();
            }
            return;
        }
        if (e != null) {
            moveFailed(WSAECONNRESET, "the move from " + began.from() + " failed: " + ResumedStream.reason(e));
            return;
        }
        ResumedStream stream = new ResumedStream(this, r.socket(), sends, inbound, parked);
        Carrier next = new Carrier(stream);
        // docs/rules.md SW-migrate-visible: the history first, so that choice() says tcp whenever provider() does.
        Duration pause = Duration.ofNanos(System.nanoTime() - began.nanos());
        history = history.moved(ProviderChoice.moved(next.name,
                new ProviderMove(began.from(), began.cause(), began.when(), pause), began.error()));
        carrier = next;
        moving = false;
        parked = null;
        String bad = stream.start(r.peerReceived());
        if (bad != null) {
            protocolError(bad);
            return;
        }
        sw.moved(this);
        if (!connector() && sw.returnPort() != 0) {
            // docs/rules.md SW-migrate-back: the connector learns at once that it may come back to RDMA.
            announceReturn(sw.returnPort());
        }
        if (r.socket() instanceof Connection inner) {
            inner.describedAs(history.describe(local, remote));
        }
        LOG.info("{}: moved from {} to {} ({}: {}), paused {} ms", this, began.from(), next.name, began.cause(),
                began.reason(), pause.toMillis());
        pumpSend();
        deliver();
        finishCloseWhenIdle();
    }

    /**
     * docs/rules.md SW-migrate-death: the move failed (no resume within the timeout, a refused dial) or
     * its socket did: the connection fails as a peer's reset, with the reason.
     */
    void moveFailed(WsaError error, String why) {
        if (state.terminal()) {
            return;
        }
        LOG.info("{}: {}", this, why);
        moveFailure = why;
        if (parked != null) {
            parked.ended();
            parked = null;
        }
        terminate(error, WSAECONNRESET);
    }

    /** The peer's RESET frame: it aborted the connection. */
    void peerReset() {
        terminate(WSAECONNRESET, WSAECONNRESET);
    }

    boolean ended() {
        return state.terminal();
    }

    /** The connection is between two carriers (docs/migration.md section 4): the old one's work is dropped. */
    boolean moving() {
        return moving;
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

    // ------------------------------------------------------------------ ending

    void finishCloseWhenIdle() {
        Carrier k = carrier;
        if (state != State.CLOSING || moving || !sends.isEmpty()) {
            return;
        }
        if (k.resumed != null ? k.resumed.idle() : k.wire.idle() && k.slots.idle()) {
            finishCloseNow();
        }
    }

    private void finishCloseNow() {
        graceful = true;
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
    }

    /** The provider closed the socket's handle (its final cleanup reset it, docs/rules.md SK-handle, LC-c). */
    private void closedByProvider(Carrier k) {
        if (k != carrier || moving) {
            return;
        }
        if (moves("the provider closed the socket" + (k.retired() ? " (withdrawn)" : ""), null)) {
            return;
        }
        terminate(WSA_OPERATION_ABORTED, WSAECONNRESET);
    }

    private void lingerZero() {
        Carrier k = carrier;
        if (k.resumed != null || moving) {
            return;
        }
        try {
            k.spi.setSockOpt(k.handle, Winsock.SOL_SOCKET, Winsock.SO_LINGER, 0);
        } catch (WsaException notSupported) {
            LOG.trace("{}: SO_LINGER not supported: {}", this, notSupported.error());
        }
    }

    /** Sends a RESET frame on an ended connection, then closes its socket. */
    void sendReset() {
        if (carrier.retired() || carrier.resumed != null || moving || !postReset()) {
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
        return carrier.slots.postLast(new Frame.Reset(),
                Overlapped.notifying((IoCompletion) r -> queue.execute(this::closeSocketQuietly)), false);
    }

    private void terminate(WsaError pending, WsaError later) {
        terminate(pending, later, true);
    }

    /**
     * Ends the connection once: pending sends and receives fail with {@code pending}, later calls
     * with {@code later}; the provider socket is closed, which releases its registrations (docs/rules.md Q23).
     */
    private void terminate(WsaError pending, WsaError later, boolean closeSocket) {
        if (state.terminal()) {
            return;
        }
        Carrier k = carrier;
        WsaError reported = pending;
        // After a move that failed the connection fails as the peer's reset says (docs/rules.md SW-migrate-death).
        boolean retired = k.retired() && moveFailure == null;
        endedAt = reported + " at " + endedAt() + (retired ? ", provider withdrawn" : "")
                + (moveFailure != null ? ", " + moveFailure : "");
        // A provider going away is one event for the application, whatever it reported first.
        pending = ProviderGoing.pendingError(pending, retired);
        later = ProviderGoing.laterError(later, retired);
        boolean wasOpen = state != State.STARTING;
        state = later == WSAENOTSOCK ? State.CLOSED : State.BROKEN;
        laterError = later;
        pendingError = pending;
        if (closeTimer != null) {
            closeTimer.cancel(false);
        }
        WsaError sendError = pending;
        sends.failAll(() -> new WsaException(sendError, "send to " + remote + " ended: " + endedAt));
        if (k.resumed != null) {
            k.resumed.ended();
        } else if (!moving) {
            k.wire.ended();
        }
        if (parked != null) {
            parked.ended();
            parked = null;
        }
        ResumeDial ahead = takeConnectedBack();
        if (ahead != null) {
            ahead.abort();
        }
        inbound.clear();
        failReceives(pending, endedAt);
        // Lent receives whose read is over and which no place answers; the others fail at their read's completion.
        for (PendingReceive r : loans.ended()) {
            r.done().completeExceptionally(new WsaException(pending, "receive from " + remote + " ended: " + endedAt));
        }
        registered(-liveRegistrations);
        // After the close: the provider writes no more into the lent buffers.
        WsaError lentError = pending;
        Runnable lentEnd = k.direct != null && !moving
                ? () -> k.direct.ended(lentError, "receive from " + remote + " ended: " + endedAt)
                : () -> {
                };
        if (closeSocket) {
            closeSocketQuietly(lentEnd);
        } else {
            lentEnd.run();
        }
        if (wasOpen) {
            sw.ended(this);
        }
        LOG.debug("{}: ended (pending {}, later {})", this, pending, later);
    }

    /** The first frame of the switch's code below the methods that end a connection. */
    private static String endedAt() {
        for (StackTraceElement e : new Throwable().getStackTrace()) {
            if (!e.getClassName().equals(Connection.class.getName()) || !ENDING.contains(e.getMethodName())) {
                return e.toString();
            }
        }
        return "";
    }

    private void failReceives(WsaError error, String why) {
        for (PendingReceive pr : receives) {
            pr.done().completeExceptionally(new WsaException(error, "receive from " + remote + " ended: " + why));
        }
        receives.clear();
    }

    private void closeSocketQuietly() {
        closeSocketQuietly(() -> {
        });
    }

    /** Closes the socket carrying the connection; {@code then} runs on the queue once that close is over. */
    private void closeSocketQuietly(Runnable then) {
        Carrier k = carrier;
        if (k.resumed != null) {
            k.resumed.close(graceful);
            then.run();
        } else if (moving) {
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
     * ({@link #releases}). {@code then} runs on this queue once it returned.
     * The provider's final cleanup may close the socket first: the close then fails, logged at trace.
     */
    private void closeOffQueue(Carrier k, String what, Runnable then) {
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
                LOG.trace("{}: {}: {}", this, what, e.error());
            }
        }, releases).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("{}: {} failed", this, what, e);
            }
            queue.execute(then);
        });
    }

    /**
     * A withdrawn provider's final cleanup resets and releases the socket (docs/rules.md LC-c); a call
     * would only wait for that cleanup and hold a switch thread meanwhile.
     */
    private static boolean leftToCleanup(Carrier k) {
        return k.slot != null && k.slot.isClosed() || k.retired();
    }

    /**
     * docs/rules.md SW-close-off-io: runs {@code call}, a provider call that may wait for the peer, on
     * {@link #releases}, then {@code after} on this queue; the receives then go on if they waited for it
     * ({@link #wantsBytes}).
     */
    void offQueue(Runnable call, Runnable after) {
        CompletableFuture.runAsync(call, releases).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("{}: a deregistration failed", this, e);
            }
            queue.execute(() -> {
                after.run();
                if (!state.terminal()) {
                    pumpReceive();
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

    @Override
    public String toString() {
        Carrier k = carrier;
        return "SwitchSocket[" + k.name + " " + local + " -> " + remote + ", " + state + (k.resumed != null ? ", moved: " + k.resumed : "")
                + (moving ? ", moving" : "") + application() + "]";
    }

    /**
     * For a diagnosis (a stalled stream): the application's receives waiting and what heads the
     * bytes waiting for it, when there is either; read from any thread, it may be a moment old.
     */
    private String application() {
        int waiting = receives.size();
        return waiting == 0 && inbound.isEmpty() ? "" : ", receives " + waiting + ", " + inbound;
    }
}
