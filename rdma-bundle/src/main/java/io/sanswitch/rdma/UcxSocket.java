package io.sanswitch.rdma;

import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpMemMapParams;
import org.openucx.jucx.ucp.UcpMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.ConnectionRequest;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportRegion;
import io.sanswitch.transport.TransportSocket;

/**
 * One socket over UCX: a listener (a TCP socket of the {@link Rendezvous}), or a connection made
 * of a UCX endpoint to the peer's worker plus the TCP control connection it was set up on.
 *
 * <p>Data moves as tagged messages: each side sends with the tag the peer chose for the
 * connection and receives with its own. A posted receive takes the next message straight into its
 * buffer when it fits (zero copy), else the message lands in a staging buffer that the following
 * receives drain, so the stream keeps TCP's semantics (a receive completes with what arrived). An
 * empty message is the orderly end of the stream. RDMA is put/get with the peer's packed key,
 * completed by a flush. Every UCX call runs on the worker thread.
 *
 * <p>This class is the {@link TransportSocket} and owns the socket's lifecycle ({@link State});
 * the listening part is a {@link UcxListener}, the endpoint with sends, RDMA and the requests UCX
 * holds a {@link UcxEndpoint}, the receiving half of the stream a {@link TagStreamReceiver}.
 */
final class UcxSocket implements TransportSocket {
    private static final Logger LOG = LoggerFactory.getLogger(UcxSocket.class);
    /**
     * How long a deregistration waits for the peer to acknowledge its revocation (docs/rules.md
     * RD-access); a peer that does not answer in time has its connection reset.
     */
    static final Duration REVOKE_WAIT = Duration.ofSeconds(5);
    /** Descriptors verified per connection and kept (beyond it each use verifies again). */
    static final int MAX_VERIFIED = 1024;

    /**
     * The lifecycle of this socket. Application threads (connect, accept, close), the rendezvous
     * thread (the peer's closing notice) and the worker thread (handshake outcome, failures) all
     * move it, so it is one value moved by compare-and-set along {@link #mayBecome}: a later step
     * is never overwritten by an earlier one (a worker-thread FAILED never replaces an ENDED).
     */
    enum State {
        /** Created or bound; again after a connect that failed (the engine's role is BOUND again). */
        NEW,
        /** Listening: connection requests are queued for the switch's condition function. */
        LISTENING,
        /** A connect's handshake is running. */
        CONNECTING,
        /** Connected: an endpoint to the peer's worker, and the control connection watched. */
        CONNECTED,
        /**
         * The peer announced an orderly close: the end of its TCP connection is not a reset, and it
         * takes nothing more (sends fail with a reset).
         */
        PEER_CLOSING,
        /** The connection is gone (peer reset or died): everything still pending fails with a reset. */
        FAILED,
        /** Closed or reset by the application or the transport's teardown. Terminal. */
        ENDED;

        boolean mayBecome(State next) {
            return switch (this) {
                // CONNECTED: accepted; FAILED: an accepted socket's endpoint failed before accept marked it connected.
                case NEW -> next == LISTENING || next == CONNECTING || next == CONNECTED || next == FAILED
                        || next == ENDED;
                case LISTENING -> next == ENDED;
                // NEW: the connect failed (refused, timed out, no endpoint), the socket may connect again.
                case CONNECTING -> next == NEW || next == CONNECTED || next == FAILED || next == ENDED;
                case CONNECTED -> next == PEER_CLOSING || next == FAILED || next == ENDED;
                case PEER_CLOSING -> next == FAILED || next == ENDED;
                case FAILED -> next == ENDED;
                case ENDED -> false;
            };
        }
    }

    private final UcxTransport owner;
    private final UcxWorkerThread worker;
    /** The tag the peer sends this connection's data with (this side's connection id). Immutable. */
    private final long recvTag;
    /** Where this socket is bound or listens. Written by application threads, read by any. */
    private volatile InetSocketAddress bindAddress;
    /** Any thread, moved only by {@link #moveTo} (compare-and-set). */
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);

    /** The listening part, null unless listen was called. Set by an application thread, read by any. */
    private volatile UcxListener listener;
    /** The TCP control connection the connection was set up on. Set by application and worker threads, read by any. */
    private volatile SocketChannel control;
    /** The endpoint to the peer's worker. Worker thread. */
    private final UcxEndpoint endpoint;
    /** The receiving half of the tag stream. Worker thread. */
    private final TagStreamReceiver receiver;
    /** Sends reported in posting order. Worker thread. */
    private final SendOrder sends;
    /**
     * What a FAILED connection's operations fail with: a reset (the peer's), or {@code WSAENETDOWN}
     * when the interface under it went away. Written before the move to FAILED, read by any thread.
     */
    private volatile WsaError failure = WsaError.WSAECONNRESET;
    /** The interface watch found this socket's interface gone (it is reported once). Rendezvous thread. */
    private boolean networkLost;

    // RDMA access (docs/rules.md RD-access): UCX's software lanes check no remote key, and a key is
    // not bound to an endpoint, so the providers check: descriptors are sealed per connection, and
    // a deregistration revokes its exposure at the peer before the memory is unmapped.
    /** The connection's seal on descriptors; set before the endpoint opens. Any thread. */
    private volatile DescriptorSeal seal;
    /** The number of this side's latest exposure. */
    private final AtomicLong exposures = new AtomicLong();
    /** This side's exposures registered now, by number. */
    private final ConcurrentSkipListSet<Long> exposed = new ConcurrentSkipListSet<>();
    /** This side's revocations the peer has not acknowledged. */
    private final PendingRevocations revocations = new PendingRevocations();
    /** The peer's exposures it revoked. */
    private final RevokedExposures revoked = new RevokedExposures();
    /** RDMA operations started (worker thread) and not called back: a revocation waits for them. */
    private final AtomicLong rdmaInFlight = new AtomicLong();
    /** This side's deregistered exposures waiting for the peer's acknowledgement to be unmapped. Worker thread. */
    private final java.util.Map<Long, UcxRegion> unmapping = new java.util.HashMap<>();
    /**
     * The final cleanup resets this socket next ({@link #resetFollows}): a deregistration then sends no
     * revocation and waits for none; the memory is unmapped by the reset. Any thread.
     */
    private volatile boolean resetFollows;
    /** {@link #end} released this socket's regions: a later deregistration unmaps at once. Worker thread. */
    private boolean regionsReleased;
    /** The peer's descriptors verified on this connection: the data path looks them up. Bounded. */
    private final ConcurrentHashMap<RdmaBufferDescriptor, UcxRegion.Descriptor> verified = new ConcurrentHashMap<>();

    UcxSocket(UcxTransport owner, UcxWorkerThread worker) {
        this.owner = owner;
        this.worker = worker;
        this.recvTag = owner.nextConnectionId();
        this.endpoint = new UcxEndpoint(owner, worker);
        this.receiver = new TagStreamReceiver(owner, this, recvTag, endpoint);
        this.sends = new SendOrder(owner.events());
    }

    /**
     * Moves the state to {@code next} if {@link State#mayBecome allowed} from the current one.
     * Any thread.
     *
     * @return the state left, or null when {@code next} is not allowed from the current one
     */
    private State moveTo(State next) {
        for (;;) {
            State now = state.get();
            if (!now.mayBecome(next)) {
                return null;
            }
            if (state.compareAndSet(now, next)) {
                return now;
            }
        }
    }

    /** Whether this is a socket of {@code transport} (a batch call may be handed others). Any thread. */
    boolean belongsTo(UcxTransport transport) {
        return owner == transport;
    }

    /** Any thread. */
    boolean isEnded() {
        return state.get() == State.ENDED;
    }

    /** Any thread. */
    boolean hasFailed() {
        return state.get() == State.FAILED;
    }

    /** What the operations of this connection fail with once it {@link #hasFailed failed}. Any thread. */
    WsaError failure() {
        return failure;
    }

    /**
     * The local IP the interface watch checks (docs/rules.md LC-e): the control connection's for a connection
     * (UCX's lane to the peer leaves by the interface the rendezvous reached the peer by), the
     * listener's for a listener; {@code null} for any other socket and once reported. Rendezvous thread.
     */
    InetAddress interfaceAddress() {
        if (networkLost) {
            return null;
        }
        State now = state.get();
        if (now == State.LISTENING) {
            UcxListener l = listener;
            return l == null ? null : l.address().getAddress();
        }
        SocketChannel ch = control;
        if ((now == State.CONNECTED || now == State.PEER_CLOSING) && ch != null) {
            try {
                return ch.getLocalAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            } catch (IOException e) {
                return null; // closed: its end is reported as such
            }
        }
        return null;
    }

    /**
     * The interface under this socket is gone (docs/rules.md LC-e): a connection fails, its pending and later
     * operations with {@code WSAENETDOWN}, as the tcp backend's do. A listener is left as it is:
     * the engine refuses every call with {@code WSAENETDOWN} from now on. Rendezvous thread.
     */
    void networkLost() {
        networkLost = true;
        worker.execute(() -> {
            State now = state.get();
            if (now == State.CONNECTED || now == State.PEER_CLOSING) {
                failure = WsaError.WSAENETDOWN;
                fail();
            }
        });
    }

    /**
     * A message receive failed (worker thread): pending receives fail with a reset, in order. Only
     * the state moves; the endpoint's own error or the control connection's end tears it down.
     */
    void receiveFailed() {
        moveTo(State.FAILED);
    }

    /**
     * Binds where UCX will listen or connect from: the rendezvous uses the TCP port space, so the
     * address is checked here, where bind may report a busy one.
     */
    @Override
    public void bind(InetSocketAddress local) throws WsaException {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(local);
        } catch (IOException e) {
            throw bindError(local, e);
        }
        bindAddress = local;
    }

    static WsaException bindError(InetSocketAddress local, IOException e) {
        if (e instanceof BindException) {
            return new WsaException(e.getMessage() != null && e.getMessage().contains("in use") ? WsaError.WSAEADDRINUSE
                    : WsaError.WSAEADDRNOTAVAIL, "bind " + local + ": " + e.getMessage(), e);
        }
        return new WsaException(WsaError.WSAENETDOWN, "bind " + local + ": " + e.getMessage(), e);
    }

    @Override
    public InetSocketAddress localAddress() {
        return bindAddress;
    }

    // ------------------------------------------------------------------ listen and accept (docs/rules.md AC-condition)

    @Override
    public void listen(int backlog) throws WsaException {
        UcxListener l = new UcxListener(owner, this, bindAddress, backlog);
        bindAddress = l.address();
        listener = l; // before the first request can come: the switch then asks for it
        moveTo(State.LISTENING);
        owner.listening(bindAddress);
        l.start();
    }

    @Override
    public ConnectionRequest peekConnectionRequest() {
        UcxListener l = listener;
        return l == null ? null : l.peek();
    }

    @Override
    public TransportSocket accept(ConnectionRequest request) throws WsaException {
        UcxListener l = listener;
        if (l == null) {
            throw new WsaException(WsaError.WSAEINVAL, "not a queued request of this socket");
        }
        return l.accept(request);
    }

    @Override
    public void reject(ConnectionRequest request) {
        UcxListener l = listener;
        if (l != null) {
            l.reject(request);
        }
    }

    /** The connection id the peer sends this connection's data with. */
    long connectionId() {
        return recvTag;
    }

    /** An accepted connection's endpoint to the peer's worker, opened on the worker thread. Application thread. */
    void openEndpointNow(byte[] peerWorker, long peerConnectionId, DescriptorSeal seal) throws WsaException {
        this.seal = seal;
        worker.call(() -> {
            openEndpoint(peerWorker, peerConnectionId);
            return null;
        });
    }

    /** The peer was told it is accepted: this connection is connected over {@code channel}. Application thread. */
    void acceptedOn(InetSocketAddress local, SelectionKey key, SocketChannel channel) {
        bindAddress = local;
        moveTo(State.CONNECTED); // refused if its endpoint already failed: then it stays FAILED
        watch(key, channel);
    }

    // ------------------------------------------------------------------ connect (docs/rules.md SW-certain)

    @Override
    public boolean connect(InetSocketAddress remote, byte[] callerData) throws WsaException {
        if (callerData.length > Handshake.MAX_CALLER_DATA) {
            throw new WsaException(WsaError.WSAEFAULT, callerData.length + " bytes of caller data, at most "
                    + Handshake.MAX_CALLER_DATA + " are sent");
        }
        if (!state.compareAndSet(State.NEW, State.CONNECTING)) {
            throw new WsaException(WsaError.WSAEINVAL, "connect on a socket that is " + state.get());
        }
        SocketChannel ch;
        try {
            ch = SocketChannel.open();
        } catch (IOException e) {
            state.compareAndSet(State.CONNECTING, State.NEW);
            throw new WsaException(WsaError.WSAENOBUFS, "no socket for the rendezvous: " + e.getMessage(), e);
        }
        try {
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            InetSocketAddress local = bindAddress;
            if (local != null) {
                ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                ch.bind(local);
            }
            boolean now = ch.connect(remote);
            control = ch;
            Rendezvous rendezvous = owner.rendezvous();
            ClientHandshake handshake = new ClientHandshake(rendezvous, owner.key(), ch, remote, now, recvTag,
                    owner.workerAddress(), callerData, new Connecting(ch));
            rendezvous.execute(() -> {
                rendezvous.register(ch, handshake.initialInterest(), handshake);
                rendezvous.timeOutbound(handshake);
            });
        } catch (IOException e) {
            Rendezvous.closeQuietly(ch);
            state.compareAndSet(State.CONNECTING, State.NEW);
            throw new WsaException(connectError(e), "connect to " + remote + ": " + e.getMessage(), e);
        }
        return false;
    }

    /**
     * docs/rules.md SW-provider-codes: only a certain failure stops the switch's fallback to TCP. Nobody listening on the
     * UCX port does not mean a TCP provider is not there, so that is a timeout.
     */
    static WsaError connectError(IOException e) {
        if (e instanceof NoRouteToHostException) {
            return WsaError.WSAEHOSTUNREACH;
        }
        if (e instanceof ConnectException) {
            return WsaError.WSAETIMEDOUT;
        }
        return WsaError.WSAETIMEDOUT;
    }

    /** What the client handshake ends in, handed to the worker thread. */
    private final class Connecting implements ClientHandshake.Outcome {
        private final SocketChannel channel;

        Connecting(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public void accepted(SelectionKey key, SocketChannel ch, Handshake.Reply reply, DescriptorSeal sealed) {
            seal = sealed;
            worker.execute(() -> {
                if (state.get() != State.CONNECTING) {
                    return;
                }
                try {
                    openEndpoint(reply.workerAddress(), reply.connId());
                } catch (RuntimeException e) {
                    LOG.warn("ucx: no endpoint to the worker of {}: {}", Rendezvous.remoteOf(channel), e.getMessage());
                    owner.rendezvous().release(channel, true);
                    connectEnded(WsaError.WSAETIMEDOUT);
                    return;
                }
                // Connected before the control connection is watched: a closing notice read at
                // once must find a connection to mark as closing.
                boolean connected = state.compareAndSet(State.CONNECTING, State.CONNECTED);
                watch(key, channel);
                if (connected) {
                    reportConnect(null);
                }
            });
        }

        @Override
        public void failed(WsaError error) {
            worker.execute(() -> connectEnded(error));
        }
    }

    /** On the worker thread: the connect failed; the socket is as before it (bound, not connected). */
    private void connectEnded(WsaError error) {
        if (state.compareAndSet(State.CONNECTING, State.NEW)) {
            reportConnect(error);
        }
    }

    /** FD_CONNECT, unless the application closed the socket meanwhile. */
    private void reportConnect(WsaError error) {
        if (!isEnded()) {
            owner.events().connectCompleted(this, error);
        }
    }

    /** On the worker thread: the endpoint to the peer's worker; its error is the peer's failure. */
    private void openEndpoint(byte[] peerWorker, long peerConnectionId) {
        if (isEnded()) {
            // Ended meanwhile (a final cleanup racing an accept): nothing would ever close it.
            throw new IllegalStateException("the socket was closed");
        }
        endpoint.open(peerWorker, peerConnectionId, this::fail);
    }

    /** Watches the control connection: its end without a closing notice is the peer's reset. */
    private void watch(SelectionKey key, SocketChannel channel) {
        control = channel;
        owner.rendezvous().execute(() -> {
            if (!key.isValid()) {
                controlLost();
                return;
            }
            // Messages of 9 bytes, but a revocation of 17 (Rendezvous).
            ByteBuffer in = ByteBuffer.allocate(Rendezvous.REVOKE_MESSAGE).limit(Rendezvous.CLOSING_NOTICE);
            key.attach(new Rendezvous.Handler() {
                /** The peer's closing notice was read (only the first counts). Rendezvous thread. */
                private boolean noticeRead;

                @Override
                public void ready(SelectionKey k) throws IOException {
                    // A few messages per turn: a peer that keeps sending does not hold the thread (SEC-4).
                    for (int turn = 0; turn < 64; turn++) {
                        if (channel.read(in) < 0) {
                            throw new EOFException();
                        }
                        if (in.hasRemaining()) {
                            return;
                        }
                        byte type = in.get(0);
                        if (!noticeRead && type == Rendezvous.REVOKE && in.limit() < Rendezvous.REVOKE_MESSAGE) {
                            in.limit(Rendezvous.REVOKE_MESSAGE);
                            continue;
                        }
                        if (!noticeRead) { // after the notice only the end is of interest
                            control(type, in.flip());
                        }
                        in.clear().limit(Rendezvous.CLOSING_NOTICE);
                    }
                }

                /** One message of the peer. Rendezvous thread. */
                private void control(byte type, ByteBuffer message) throws IOException {
                    switch (type) {
                        case Rendezvous.CLOSING -> {
                            long messages = Rendezvous.closingNotice(message);
                            noticeRead = true;
                            // The peer flushed and closed its endpoint before the notice: no RDMA of it is in flight.
                            revocations.connectionEnded();
                            moveTo(State.PEER_CLOSING); // refused when failed or ended: nothing then reads it
                            worker.execute(() -> peerClosed(messages));
                        }
                        case Rendezvous.REVOKE -> {
                            message.get();
                            peerRevoked(message.getLong(), message.getLong());
                        }
                        case Rendezvous.REVOKED -> {
                            message.get();
                            revocations.acknowledged(message.getLong());
                        }
                        default -> {
                            LOG.warn("ucx: connection to {} reset: a control message of unknown type {}",
                                    Rendezvous.remoteOf(channel), type & 0xFF);
                            throw new IOException("a control message of unknown type " + (type & 0xFF));
                        }
                    }
                }

                @Override
                public void lost(IOException cause) {
                    controlLost();
                }
            });
            key.interestOps(SelectionKey.OP_READ);
        });
    }

    /**
     * On the worker thread: the peer closed its socket (a full close, docs/rules.md BG-close). Its stream ends
     * after the messages it announced; it will take nothing more, so what this side still sends
     * fails with a reset, as TCP answers data for a closed socket. A send the peer will never take
     * would otherwise wait for it forever (every message goes by rendezvous).
     */
    private void peerClosed(long messagesSent) {
        receiver.peerClosed(messagesSent);
        if (!isEnded() && endpoint.isOpen() && endpoint.requestsInUcx() > receiver.receivesInUcx()) {
            endpoint.close(true);
        }
        owner.wantsData(this);
        pump();
    }

    /**
     * Worker thread: the peer closed in order, and UCX holds only receives of messages past its
     * end (sends its close aborted, docs/rules.md SK-close-teardown): they never arrive, and only
     * this side's forced close of the endpoint ends them (the peer takes nothing more).
     */
    void endReceivesPastTheEnd() {
        if (!isEnded() && endpoint.isOpen()) {
            LOG.debug("ucx: receives past the peer's end ({}): closing the endpoint", receiver);
            endpoint.close(true);
        }
    }

    private void controlLost() {
        revocations.connectionEnded();
        SocketChannel ch = control;
        if (ch != null) {
            Rendezvous.closeQuietly(ch);
        }
        State now = state.get();
        if (now != State.ENDED && now != State.PEER_CLOSING) {
            worker.execute(this::fail);
        }
    }

    /**
     * On the worker thread: the connection is gone (peer reset or died, docs/rules.md SK-peer-reset). Queued
     * receives fail with a reset; requests inside UCX are completed by the forced close, and
     * their reports say reset because the state is FAILED.
     */
    private void fail() {
        State was = moveTo(State.FAILED);
        if (was == null) {
            return; // failed or ended already
        }
        revocations.connectionEnded();
        if (was == State.CONNECTING) {
            reportConnect(WsaError.WSAECONNRESET);
        }
        cancelReceives();
        endpoint.close(true);
        worker.schedule(UcxEndpoint.ABANDON_AFTER, endpoint::abandonStuckRequests);
        pump();
    }

    // ------------------------------------------------------------------ data path

    @Override
    public void post(PostedOperation op) throws WsaException {
        State now = state.get();
        if (now == State.FAILED) {
            WsaError error = failure;
            throw new WsaException(error, error == WsaError.WSAENETDOWN ? "the interface under this socket is gone"
                    : "the connection failed");
        }
        if (now != State.CONNECTED && now != State.PEER_CLOSING) {
            throw new WsaException(WsaError.WSAENOTCONN, "not connected");
        }
        if (now == State.PEER_CLOSING && op.kind() != PostedOperation.Kind.RECV) {
            throw new WsaException(WsaError.WSAECONNRESET, "the peer closed its socket");
        }
        UcxRegion.Descriptor remote = null;
        if (op.kind() == PostedOperation.Kind.RDMA_WRITE || op.kind() == PostedOperation.Kind.RDMA_READ) {
            remote = verified(op.remoteDescriptor());
            remote.checkRange(op.remoteOffset(), op.length());
            int needed = op.kind() == PostedOperation.Kind.RDMA_WRITE ? Winsock.MEM_WRITE : Winsock.MEM_READ;
            if ((remote.access() & needed) == 0) {
                throw new WsaException(WsaError.WSAEINVAL, "the peer's buffer does not allow " + op.kind());
            }
        }
        UcxRegion.Descriptor target = remote;
        // Always through the task queue, even on the worker thread: a request that completes at
        // once calls back inside the UCX call, which must not happen before post returns.
        worker.later(() -> start(op, target));
    }

    /** On the worker thread. */
    private void start(PostedOperation op, UcxRegion.Descriptor remote) {
        if (isEnded()) {
            return; // cancelled before it started: the engine completes it
        }
        if (op.kind() == PostedOperation.Kind.RECV) {
            receiver.post(op);
            return;
        }
        SendOrder.Entry inOrder = op.kind() == PostedOperation.Kind.SEND ? sends.posted(op) : null;
        if (state.get() == State.FAILED || !endpoint.isOpen()) {
            finished(op, inOrder, hasFailed() ? failure : WsaError.WSAECONNRESET);
            return;
        }
        if (op.kind() == PostedOperation.Kind.SEND && op.length() == 0) {
            // An empty message would read as the end of the stream: nothing to send.
            finished(op, inOrder, null);
            return;
        }
        long[] addresses = new long[op.buffers().length];
        long[] sizes = new long[addresses.length];
        for (int i = 0; i < addresses.length; i++) {
            ByteBuffer b = op.buffers()[i];
            addresses[i] = UcxUtils.getAddress(b) + b.position();
            sizes[i] = b.remaining();
        }
        boolean rdma = remote != null;
        if (rdma) {
            // Counted before the check, as a revocation marks before it reads the count: one of
            // them sees the other (docs/rules.md RD-access).
            rdmaInFlight.incrementAndGet();
            if (revoked.isRevoked(remote.exposure())) {
                rdmaInFlight.decrementAndGet();
                finished(op, null, WsaError.WSAEINVAL);
                return;
            }
        }
        UcxNative.Completion report = endpoint.tracked((status, ignored) -> {
            if (rdma) {
                rdmaInFlight.decrementAndGet();
            }
            // docs/rules.md RD-exact: an RDMA read or write completes with the flush that follows it
            // (UcxEndpoint#get, #put), and a flush that completes after the endpoint was closed by force
            // succeeds whether or not the transfer was carried out: the read or write fails then. A
            // close is forced whenever anything is inside UCX (closeEndpoint), so this is every RDMA
            // operation that was still under way when the connection failed, was reset or closed.
            boolean cutShort = rdma && endpoint.closedByForce();
            if (status == 0 && !cutShort) {
                finished(op, inOrder, null);
            } else {
                State now = state.get();
                finished(op, inOrder, now == State.FAILED ? failure
                        : now == State.PEER_CLOSING || status == 0 ? WsaError.WSAECONNRESET : UcxStatus.transferError(status));
            }
        });
        try {
            switch (op.kind()) {
                case SEND -> endpoint.send(addresses, sizes, report);
                case RDMA_WRITE -> endpoint.put(addresses, sizes, remote.address() + op.remoteOffset(),
                        endpoint.remoteKey(remote), report);
                case RDMA_READ -> endpoint.get(addresses, sizes, remote.address() + op.remoteOffset(),
                        endpoint.remoteKey(remote), report);
                default -> throw new IllegalStateException(op.kind().toString());
            }
        } catch (RuntimeException e) {
            // A UCX call failed (a negative status, a refused remote key): the operation fails, the connection stays.
            endpoint.untrack(report);
            if (rdma) {
                rdmaInFlight.decrementAndGet();
            }
            finished(op, inOrder, WsaError.WSAECONNRESET);
        }
    }

    /** Reports {@code op} ({@code error == null}: all of it moved); a send through {@link #sends}. */
    private void finished(PostedOperation op, SendOrder.Entry inOrder, WsaError error) {
        long bytes = error == null ? op.length() : 0;
        if (inOrder != null) {
            sends.finished(inOrder, error, bytes);
        } else if (error == null) {
            owner.events().operationCompleted(op, bytes);
        } else {
            owner.events().operationFailed(op, error, bytes);
        }
    }

    /**
     * The peer broke the protocol of this connection: one log line, the connection fails (every
     * operation with a reset) and the peer sees a reset (docs/security.md, SEC-5). Worker thread.
     */
    void protocolViolation(String what) {
        LOG.warn("ucx: connection to {} reset: {}", control == null ? "?" : Rendezvous.remoteOf(control), what);
        fail();
        SocketChannel ch = control;
        if (ch != null) {
            owner.rendezvous().release(ch, true);
        }
    }

    /** Worker thread, after progress (by the transport): hands arrived messages to posted receives. */
    boolean pump() {
        return receiver.pump();
    }

    /**
     * A receive not yet taken by a message is just dropped. Anything inside UCX: UCX cannot cancel
     * a send (openucx/ucx#1162), and the engine cancels only operations of a socket it is closing,
     * so the endpoint is force-closed, which completes every request of it, and the worker is
     * progressed until their callbacks came back (docs/toolchain.md TC-12). After that UCX touches none of
     * the operation's buffers.
     */
    @Override
    public void cancel(PostedOperation op) {
        try {
            boolean dropped = worker.call(() -> receiver.remove(op));
            if (!dropped) {
                shutDown(true);
            }
        } catch (WsaException e) {
            LOG.warn("cancelling {} failed", op, e);
        }
    }

    /**
     * Worker thread, for a batch cancel: drops {@code ops} that no message has taken yet.
     *
     * @return whether all were dropped; if not, the endpoint must be force-closed ({@link #cancel})
     */
    boolean dropReceives(java.util.List<PostedOperation> ops) {
        boolean all = true;
        for (PostedOperation op : ops) {
            all &= receiver.remove(op);
        }
        return all;
    }

    @Override
    public TransportRegion register(ByteBuffer buffer, int access, boolean remote) throws WsaException {
        if (!buffer.isDirect()) {
            throw new WsaException(WsaError.WSAEFAULT, "UCX registers direct buffers only");
        }
        DescriptorSeal sealed = seal;
        if (remote && sealed == null) {
            throw new WsaException(WsaError.WSAENOTCONN, "not connected: no peer to expose memory to");
        }
        long address = UcxUtils.getAddress(buffer) + buffer.position();
        long length = buffer.remaining();
        long exposure = remote ? exposures.incrementAndGet() : 0;
        // A mapping made after the call gave up is unmapped at once: nobody else would, and the
        // final cleanup's ucp_cleanup aborts the process on a mapping left (docs/rules.md
        // RG-given-up, docs/toolchain.md TC-24).
        UcxRegion region = worker.callOrUndo(() -> {
            UcpMemory memory = owner.context().memoryMap(new UcpMemMapParams().setAddress(address).setLength(length));
            owner.registered(1);
            return new UcxRegion(buffer, memory, access, exposure, remote ? sealed : null);
        }, owner.registrationWait(), late -> {
            LOG.warn("ucx: a registration of {} bytes was made after its caller stopped waiting ({} ms): unmapped",
                    length, owner.registrationWait().toMillis());
            late.memory.deregister();
            owner.registered(-1);
        });
        if (remote) {
            exposed.add(exposure);
        }
        return region;
    }

    @Override
    public void deregister(TransportRegion region) {
        if (region instanceof UcxRegion r) {
            if (r.descriptor != null) {
                if (resetFollows && unmapWithReset(r)) {
                    return;
                }
                if (worker.inThread()) {
                    if (revokeThenUnmap(r)) {
                        return;
                    }
                } else {
                    revoke(r.exposure);
                }
            }
            unmap(r);
        }
    }

    /**
     * A deregistration the final cleanup makes just before it resets this socket: no revocation round
     * trip (docs/toolchain.md TC-22: both providers' cleanups waited up to {@link #REVOKE_WAIT} for an
     * acknowledgement the peer's own cleanup was in no state to give, then force-closed the endpoint
     * with its requests queued). The reset ends the peer's access (docs/rules.md RD-access), and the
     * memory stays mapped until {@link #end} has closed the endpoint.
     *
     * @return whether the unmap was left to the reset (false: unmap now, the socket ended already)
     */
    private boolean unmapWithReset(UcxRegion r) {
        exposed.remove(r.exposure);
        try {
            return worker.call(() -> {
                if (regionsReleased) {
                    return false;
                }
                unmapping.put(r.exposure, r);
                return true;
            });
        } catch (WsaException e) {
            LOG.warn("deferring the unmap of exposure {} to the reset failed; unmapping now", r.exposure, e);
            return false;
        }
    }

    @Override
    public void resetFollows() {
        resetFollows = true;
    }

    private void unmap(UcxRegion r) {
        try {
            worker.call(() -> {
                r.memory.deregister();
                owner.registered(-1);
                return null;
            });
        } catch (WsaException e) {
            LOG.warn("deregistering {} bytes failed", r.buffer.capacity(), e);
        }
    }

    @Override
    public void checkRemote(RdmaBufferDescriptor descriptor, long offset, long length) throws WsaException {
        verified(descriptor).checkRange(offset, length);
    }

    // ------------------------------------------------------------------ RDMA access (docs/rules.md RD-access)

    /**
     * The peer's descriptor, verified as made for this connection ({@link DescriptorSeal}); a map
     * lookup once it was verified. Any thread.
     *
     * @throws WsaException {@code WSAEINVAL}: not a descriptor the peer made for this connection
     */
    private UcxRegion.Descriptor verified(RdmaBufferDescriptor descriptor) throws WsaException {
        UcxRegion.Descriptor known = verified.get(descriptor);
        if (known != null) {
            return known;
        }
        DescriptorSeal sealed = seal;
        if (sealed == null) {
            throw new WsaException(WsaError.WSAENOTCONN, "not connected");
        }
        UcxRegion.Descriptor fresh = UcxRegion.Descriptor.decode(descriptor, sealed);
        if (verified.size() < MAX_VERIFIED && !revoked.isRevoked(fresh.exposure())) {
            verified.put(descriptor, fresh);
        }
        return fresh;
    }

    /**
     * Revokes this side's {@code exposure} at the peer before its memory is unmapped: the peer
     * refuses every later RDMA operation on it and acknowledges once those in flight are done.
     * Waits for that at most {@link #REVOKE_WAIT}; a peer that does not answer in time has its
     * connection reset (then the memory is unmapped all the same). No wait when the connection is
     * not (or no longer) up: the peer then makes no RDMA operation. Application thread, or the
     * worker thread in an upcall.
     */
    private void revoke(long exposure) {
        exposed.remove(exposure);
        SocketChannel ch = control;
        if (state.get() != State.CONNECTED || ch == null || revocations.hasEnded()) {
            return;
        }
        Iterator<Long> registered = exposed.iterator();
        long lowest = registered.hasNext() ? registered.next() : exposures.get() + 1;
        CountDownLatch latch = revocations.open(exposure);
        try {
            Rendezvous.writeNow(ch, Rendezvous.revoke(exposure, lowest));
        } catch (IOException e) {
            revocations.acknowledged(exposure);
            revokeFailed(exposure, "the revocation could not be sent (" + e.getMessage() + ")");
            return;
        }
        PendingRevocations.Outcome outcome;
        if (worker.inThread() && !worker.inCallback()) {
            // The peer's operations may need this worker's progress to complete.
            worker.progressUntil(() -> latch.getCount() == 0, REVOKE_WAIT);
            outcome = revocations.outcome(exposure, latch);
        } else {
            outcome = revocations.await(exposure, latch, REVOKE_WAIT);
        }
        if (outcome == PendingRevocations.Outcome.TIMED_OUT) {
            revokeFailed(exposure, "the peer did not acknowledge the revocation in " + REVOKE_WAIT.toMillis() + " ms");
        }
    }

    /**
     * {@link #revoke} for a deregistration on the progress thread (an upcall), which must not wait
     * there: the peer may need this worker's progress to finish its operations, and two peers
     * deregistering in upcalls at once would each wait for the other. The revocation is sent now,
     * and the memory stays mapped (and referenced) until the peer acknowledges it, or the bounded
     * wait ends, or the connection does; only then is it unmapped. Worker thread.
     *
     * @return whether the unmap was left to the acknowledgement (false: unmap now)
     */
    private boolean revokeThenUnmap(UcxRegion r) {
        exposed.remove(r.exposure);
        SocketChannel ch = control;
        if (state.get() != State.CONNECTED || ch == null || revocations.hasEnded()) {
            return false;
        }
        Iterator<Long> registered = exposed.iterator();
        long lowest = registered.hasNext() ? registered.next() : exposures.get() + 1;
        CountDownLatch latch = revocations.open(r.exposure);
        try {
            Rendezvous.writeNow(ch, Rendezvous.revoke(r.exposure, lowest));
        } catch (IOException e) {
            revocations.acknowledged(r.exposure);
            revokeFailed(r.exposure, "the revocation could not be sent (" + e.getMessage() + ")");
            return false;
        }
        unmapping.put(r.exposure, r);
        unmapWhenRevoked(r, latch, System.nanoTime() + REVOKE_WAIT.toNanos());
        return true;
    }

    /** Worker thread: unmaps {@code r} once its revocation is acknowledged or the wait is over. */
    private void unmapWhenRevoked(UcxRegion r, CountDownLatch latch, long deadline) {
        if (unmapping.get(r.exposure) != r) {
            return; // unmapped with the socket's end
        }
        if (latch.getCount() > 0 && System.nanoTime() - deadline < 0) {
            worker.schedule(Duration.ofMillis(1), () -> unmapWhenRevoked(r, latch, deadline));
            return;
        }
        if (revocations.outcome(r.exposure, latch) == PendingRevocations.Outcome.TIMED_OUT) {
            revokeFailed(r.exposure, "the peer did not acknowledge the revocation in " + REVOKE_WAIT.toMillis() + " ms");
        }
        unmapping.remove(r.exposure);
        unmap(r);
    }

    private void revokeFailed(long exposure, String why) {
        worker.execute(() -> protocolViolation("deregistering RDMA exposure " + exposure + ": " + why));
    }

    /**
     * The peer revoked one of its exposures: later operations on it are refused, and the peer is
     * told once none is in flight any more. Rendezvous thread.
     *
     * @throws IOException the numbers are not the peer's (the connection is reset)
     */
    private void peerRevoked(long exposure, long lowestRegistered) throws IOException {
        if (!revoked.revoke(exposure, lowestRegistered)) {
            LOG.warn("ucx: connection to {} reset: a revocation of exposure {} with {} the lowest registered",
                    control == null ? "?" : Rendezvous.remoteOf(control), exposure, lowestRegistered);
            throw new IOException("a revocation out of bounds");
        }
        verified.values().removeIf(d -> d.exposure() == exposure || d.exposure() < lowestRegistered);
        // Marked before the count is read, as an operation counts itself before it checks.
        boolean acknowledged = rdmaInFlight.get() == 0 && acknowledge(exposure);
        worker.execute(() -> afterPeerRevoked(exposure, lowestRegistered, acknowledged));
    }

    /**
     * Worker thread: once the operations in flight are done (a flush), the revoked exposures'
     * remote keys are released and, if not yet, the revocation acknowledged.
     */
    private void afterPeerRevoked(long exposure, long lowestRegistered, boolean acknowledged) {
        if (isEnded()) {
            return; // the keys went with the socket; the peer sees the connection end
        }
        if (rdmaInFlight.get() == 0) {
            endpoint.releaseRemoteKeys(exposure, lowestRegistered);
            if (!acknowledged) {
                acknowledge(exposure);
            }
        } else if (endpoint.isOpen()) {
            // Done when all started before it are: later ones were refused, or are on other exposures.
            endpoint.flush(endpoint.tracked((status, ignored) -> {
                endpoint.releaseRemoteKeys(exposure, lowestRegistered);
                if (!acknowledged) {
                    acknowledge(exposure);
                }
            }));
        } else {
            // The endpoint's close completes them (a failed peer's after UcxEndpoint.ABANDON_AFTER).
            worker.schedule(Duration.ofMillis(10), () -> afterPeerRevoked(exposure, lowestRegistered, acknowledged));
        }
    }

    /** Tells the peer no RDMA operation on its {@code exposure} is in flight here any more. Any thread. */
    private boolean acknowledge(long exposure) {
        SocketChannel ch = control;
        if (ch == null) {
            return false;
        }
        try {
            Rendezvous.writeNow(ch, Rendezvous.revoked(exposure));
        } catch (IOException e) {
            LOG.debug("acknowledging the revocation of exposure {}", exposure, e);
        }
        return true;
    }

    @Override
    public int getOption(int level, int name) throws WsaException {
        if (level == Winsock.IPPROTO_TCP && name == Winsock.TCP_NODELAY) {
            return 1; // UCX sends at once
        }
        throw new WsaException(WsaError.WSAENOPROTOOPT, "option 0x" + Integer.toHexString(name));
    }

    @Override
    public void setOption(int level, int name, int value) throws WsaException {
        if (level == Winsock.IPPROTO_TCP && name == Winsock.TCP_NODELAY) {
            return; // nothing to delay on UCX: accepted so the switch's replay does not fail
        }
        throw new WsaException(WsaError.WSAENOPROTOOPT, "option 0x" + Integer.toHexString(name));
    }

    // ------------------------------------------------------------------ teardown (docs/rules.md BG-close)

    /**
     * An orderly close: the endpoint is flushed and closed, then the peer is told over the control
     * connection how many messages came before the end, so it ends the stream after the last of
     * them and does not take the end of that connection for a reset. (The end is not a UCX
     * message: it would be one more request the peer must take before this side may close.)
     */
    @Override
    public void closeGracefully() {
        shutDown(false);
        SocketChannel ch = control;
        State now = state.get();
        if (ch != null && (now == State.CONNECTED || now == State.PEER_CLOSING)) {
            try {
                long sent = worker.call(endpoint::messagesDelivered);
                Rendezvous.writeNow(ch, Rendezvous.closingNotice(sent));
            } catch (IOException | WsaException e) {
                LOG.debug("closing notice", e);
            }
        }
        end(false);
    }

    @Override
    public void reset() {
        shutDown(true);
        end(true);
    }

    /**
     * Refuses queued requests and closes the listener; closes the endpoint (forced or flushing),
     * then progresses until every callback of this socket has come back. From inside a UCX
     * callback the close and the wait are made by the worker loop right after the progress round
     * (progress cannot nest; docs/toolchain.md TC-23).
     */
    private void shutDown(boolean force) {
        closeListener();
        try {
            worker.call(() -> {
                closeEndpoint(force);
                owner.awaitQuiet(worker, java.util.List.of(this));
                return null;
            });
        } catch (WsaException e) {
            LOG.warn("closing a UCX socket failed", e);
        }
    }

    /** Refuses queued requests and closes the listener, if this socket listens. Application thread. */
    void closeListener() {
        UcxListener l = listener;
        if (l != null) {
            l.close();
        }
    }

    /**
     * Worker thread: starts closing the endpoint (forced or flushing), without waiting for UCX;
     * inside a UCX callback right after the progress round ({@link UcxEndpoint#close}). A close
     * already made or asked for is not made again.
     */
    void closeEndpoint(boolean force) {
        if (force) {
            cancelReceives();
        }
        // A flush with requests still open would wait for the peer to take them.
        endpoint.close(force || endpoint.requestsInUcx() > 0);
    }

    /**
     * Worker thread: cancels the message receives UCX holds. Inside a UCX callback right after the
     * progress round, before the endpoint's close asked for with it (docs/toolchain.md TC-23: no
     * request of a connection is ended by a call made inside a UCX callback).
     */
    private void cancelReceives() {
        if (worker.inCallback()) {
            worker.later(receiver::cancel);
        } else {
            receiver.cancel();
        }
    }

    /**
     * Worker thread: whether the closing endpoint has nothing left in UCX, or, after a peer failure,
     * whether the wait for it may stop ({@code waitedNanos} past {@link UcxEndpoint#ABANDON_AFTER}).
     */
    boolean closedOrGivenUp(long waitedNanos) {
        return endpoint.quiet() || hasFailed() && waitedNanos >= UcxEndpoint.ABANDON_AFTER.toNanos();
    }

    /**
     * Worker thread, after the wait for the closing endpoint: a failed peer's stuck requests are
     * completed here.
     *
     * @return whether UCX still holds requests of this socket
     */
    boolean afterCloseWait() {
        if (!endpoint.quiet() && hasFailed()) {
            endpoint.abandonStuckRequests();
        }
        return endpoint.requestsInUcx() > 0;
    }

    private void end(boolean abortive) {
        if (moveTo(State.ENDED) == null) {
            return;
        }
        revocations.connectionEnded();
        SocketChannel ch = control;
        if (ch != null) {
            owner.rendezvous().release(ch, abortive);
        }
        Runnable release = () -> {
            // A connect's handshake that ended between the shut-down and ENDED opened its
            // endpoint after the shut-down closed nothing: closed here, or it (and its error
            // handler's registration) would stay until the worker is destroyed. After this
            // task the handshake sees ENDED and opens none.
            if (endpoint.isOpen()) {
                endpoint.close(true);
            }
            for (UcxRegion r : unmapping.values()) {
                unmap(r); // the connection is gone: no acknowledgement will come
            }
            unmapping.clear();
            regionsReleased = true;
            endpoint.releaseRemoteKeys();
            receiver.clear();
            owner.doneWithData(this);
        };
        if (worker.inCallback()) {
            // Closed inside a UCX callback: the endpoint's close and the wait for its requests
            // were queued for right after the progress round; the remote keys (which queued
            // requests may still name) go after them (docs/toolchain.md TC-23).
            worker.later(release);
        } else {
            try {
                worker.call(() -> {
                    release.run();
                    return null;
                });
            } catch (WsaException e) {
                LOG.warn("releasing remote keys failed", e);
            }
        }
        owner.forget(this);
    }

    /** UCX's account of this connection's endpoint (its lanes and their transports), or null. */
    String describeEndpoint() throws WsaException {
        return worker.call(endpoint::describe);
    }

    /** This connection's state, for a test's failure message or a log line (read racily from any thread). */
    @Override
    public String toString() {
        return "UcxSocket[id=" + recvTag + ", state=" + state.get() + ", endpoint=" + endpoint + ", " + receiver
                + ", requests held by UCX (all workers)="
                + UcxNative.pendingRequests() + "]";
    }
}
