package io.sanswitch.rdma;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

import org.openucx.jucx.UcxCallback;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpConnectionRequest;
import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpEndpointParams;
import org.openucx.jucx.ucp.UcpListener;
import org.openucx.jucx.ucp.UcpListenerParams;
import org.openucx.jucx.ucp.UcpMemMapParams;
import org.openucx.jucx.ucp.UcpMemory;
import org.openucx.jucx.ucp.UcpRemoteKey;
import org.openucx.jucx.ucp.UcpRequest;
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
 * One socket over UCX: a listener, or an endpoint created from a socket address (connect) or
 * from a connection request (accept), both with peer error handling. Data moves on UCX streams
 * (a receive completes with what arrived, as TCP); RDMA is put/get with the peer's packed key.
 * Every UCX call runs on the worker thread.
 */
final class UcxSocket implements TransportSocket {
    private static final Logger LOG = LoggerFactory.getLogger(UcxSocket.class);
    private static final Duration CALLBACK_WAIT = Duration.ofSeconds(5);

    private final UcxTransport owner;
    private final UcxWorkerThread worker;
    private final ConcurrentLinkedDeque<Request> requests = new ConcurrentLinkedDeque<>();
    /** Requests started and not called back yet: teardown progresses until this is 0. */
    private final AtomicInteger outstanding = new AtomicInteger();
    // Worker thread only.
    private final Map<RdmaBufferDescriptor, UcpRemoteKey> remoteKeys = new HashMap<>();
    private UcpListener listener;
    private UcpEndpoint endpoint;
    private UcpRequest closing;
    private volatile InetSocketAddress bindAddress;
    private volatile boolean connecting;
    private volatile boolean connected;
    private volatile boolean failed;
    private volatile boolean ended;
    private volatile int backlog = 128;

    /** A connection request waiting for the switch's condition function. */
    private record Request(UcpConnectionRequest request, InetSocketAddress peer) implements ConnectionRequest {
        @Override
        public byte[] callerData() {
            return new byte[0];
        }
    }

    UcxSocket(UcxTransport owner, UcxWorkerThread worker) {
        this.owner = owner;
        this.worker = worker;
    }

    /** An accepted socket; its endpoint is created on the worker thread. */
    private UcxSocket(UcxTransport owner, UcxWorkerThread worker, UcpConnectionRequest request) {
        this(owner, worker);
        this.endpoint = owner.worker().newEndpoint(new UcpEndpointParams().setConnectionRequest(request)
                .setPeerErrorHandlingMode().setErrorHandler((ep, status, message) -> onEndpointError(status, message)));
        this.connected = true;
    }

    /**
     * UCX binds when it listens or connects; its socket-address connection manager uses the TCP
     * port space, so the address is checked here, where bind may report a busy one.
     */
    @Override
    public void bind(InetSocketAddress local) throws WsaException {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(local);
        } catch (BindException e) {
            throw new WsaException(e.getMessage() != null && e.getMessage().contains("in use") ? WsaError.WSAEADDRINUSE
                    : WsaError.WSAEADDRNOTAVAIL, "bind " + local + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new WsaException(WsaError.WSAENETDOWN, "bind " + local + ": " + e.getMessage(), e);
        }
        bindAddress = local;
    }

    @Override
    public InetSocketAddress localAddress() {
        return bindAddress;
    }

    @Override
    public void listen(int backlog) throws WsaException {
        this.backlog = backlog == Winsock.SOMAXCONN ? 1024 : backlog;
        InetSocketAddress at = bindAddress;
        listener = worker.call(() -> owner.worker().newListener(new UcpListenerParams().setSockAddr(at)
                .setConnectionHandler(this::onConnectionRequest)));
        bindAddress = listener.getAddress();
        owner.listening(bindAddress);
    }

    /** On the worker thread: a peer asks to connect. */
    private void onConnectionRequest(UcpConnectionRequest request) {
        if (ended || requests.size() >= backlog) {
            request.reject(); // spec 6.3: a full backlog refuses at once, with no event
            return;
        }
        requests.add(new Request(request, request.getClientAddress()));
        owner.events().connectionRequested(this);
    }

    @Override
    public boolean connect(InetSocketAddress remote, byte[] callerData) throws WsaException {
        connecting = true;
        worker.call(() -> {
            endpoint = owner.worker().newEndpoint(new UcpEndpointParams().setSocketAddress(remote)
                    .setPeerErrorHandlingMode().setErrorHandler((ep, status, message) -> onEndpointError(status, message)));
            // The endpoint is wired up lazily; a flush completes once it is connected.
            outstanding.incrementAndGet();
            endpoint.flushNonBlocking(new UcxCallback() {
                @Override
                public void onSuccess(UcpRequest r) {
                    outstanding.decrementAndGet();
                    connectEnded(null);
                }

                @Override
                public void onError(int status, String message) {
                    outstanding.decrementAndGet();
                    connectEnded(UcxStatus.connectError(status));
                }
            });
            return null;
        });
        return false;
    }

    private void connectEnded(WsaError error) {
        if (!connecting) {
            return;
        }
        connecting = false;
        connected = error == null;
        failed = error != null;
        if (!ended) {
            owner.events().connectCompleted(this, error);
        }
    }

    /** On the worker thread: the endpoint failed (peer reset, unreachable, ...). */
    private void onEndpointError(int status, String message) {
        LOG.debug("endpoint error {} ({})", status, message);
        failed = true;
        if (connecting) {
            connectEnded(UcxStatus.connectError(status));
        }
        // Requests still outstanding are completed by UCX with the error through their callbacks.
    }

    @Override
    public ConnectionRequest peekConnectionRequest() {
        return requests.peekFirst();
    }

    @Override
    public TransportSocket accept(ConnectionRequest request) throws WsaException {
        if (!(request instanceof Request r) || !requests.remove(r)) {
            throw new WsaException(WsaError.WSAEINVAL, "not a queued request of this socket");
        }
        UcxSocket accepted = worker.call(() -> new UcxSocket(owner, worker, r.request()));
        owner.adopt(accepted);
        return accepted;
    }

    @Override
    public void reject(ConnectionRequest request) {
        if (request instanceof Request r && requests.remove(r)) {
            worker.execute(() -> r.request().reject());
        }
    }

    @Override
    public void post(PostedOperation op) throws WsaException {
        if (ended || !connected) {
            throw new WsaException(WsaError.WSAENOTCONN, "not connected");
        }
        if (failed) {
            throw new WsaException(WsaError.WSAECONNRESET, "the connection failed");
        }
        UcxRegion.Descriptor remote = null;
        if (op.kind() == PostedOperation.Kind.RDMA_WRITE || op.kind() == PostedOperation.Kind.RDMA_READ) {
            remote = UcxRegion.Descriptor.decode(op.remoteDescriptor());
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
        if (ended || endpoint == null) {
            return; // cancelled before it started: the engine completes it
        }
        long[] addresses = new long[op.buffers().length];
        long[] sizes = new long[addresses.length];
        for (int i = 0; i < addresses.length; i++) {
            ByteBuffer b = op.buffers()[i];
            addresses[i] = UcxUtils.getAddress(b) + b.position();
            sizes[i] = b.remaining();
        }
        outstanding.incrementAndGet();
        UcxCallback report = new UcxCallback() {
            @Override
            public void onSuccess(UcpRequest r) {
                outstanding.decrementAndGet();
                long bytes = op.kind() == PostedOperation.Kind.RECV ? r.getRecvSize() : op.length();
                owner.events().operationCompleted(op, bytes);
            }

            @Override
            public void onError(int status, String message) {
                outstanding.decrementAndGet();
                owner.events().operationFailed(op, UcxStatus.transferError(status), 0);
            }
        };
        try {
            switch (op.kind()) {
                case SEND -> endpoint.sendStreamNonBlocking(addresses, sizes, report);
                case RECV -> endpoint.recvStreamNonBlocking(addresses, sizes, 0, report);
                case RDMA_WRITE -> {
                    UcpRemoteKey key = remoteKey(op.remoteDescriptor(), remote);
                    long at = remote.address() + op.remoteOffset();
                    for (int i = 0; i < addresses.length; i++) {
                        endpoint.putNonBlockingImplicit(addresses[i], sizes[i], at, key);
                        at += sizes[i];
                    }
                    // Complete when the data is at the peer, not merely sent (the write is then visible).
                    endpoint.flushNonBlocking(report);
                }
                case RDMA_READ -> {
                    UcpRemoteKey key = remoteKey(op.remoteDescriptor(), remote);
                    long at = remote.address() + op.remoteOffset();
                    for (int i = 0; i < addresses.length; i++) {
                        endpoint.getNonBlockingImplicit(at, key, addresses[i], sizes[i]);
                        at += sizes[i];
                    }
                    endpoint.flushNonBlocking(report);
                }
            }
        } catch (RuntimeException e) {
            outstanding.decrementAndGet();
            owner.events().operationFailed(op, WsaError.WSAECONNRESET, 0);
        }
    }

    private UcpRemoteKey remoteKey(RdmaBufferDescriptor descriptor, UcxRegion.Descriptor decoded) {
        return remoteKeys.computeIfAbsent(descriptor, d -> endpoint.unpackRemoteKey(decoded.packedKey()));
    }

    /**
     * UCX cannot cancel a send (openucx/ucx#1162), and the engine cancels only operations of a
     * socket it is closing: so the endpoint is force-closed, which completes every request of it,
     * and the worker is progressed until their callbacks came back (TOOLCHAIN 12). After that UCX
     * touches none of the operation's buffers.
     */
    @Override
    public void cancel(PostedOperation op) {
        shutDown(true);
    }

    @Override
    public TransportRegion register(ByteBuffer buffer, int access, boolean remote) throws WsaException {
        if (!buffer.isDirect()) {
            throw new WsaException(WsaError.WSAEFAULT, "UCX registers direct buffers only");
        }
        long address = UcxUtils.getAddress(buffer) + buffer.position();
        long length = buffer.remaining();
        return worker.call(() -> {
            UcpMemory memory = owner.context().memoryMap(new UcpMemMapParams().setAddress(address).setLength(length));
            return new UcxRegion(buffer, memory, access, remote);
        });
    }

    @Override
    public void deregister(TransportRegion region) {
        if (region instanceof UcxRegion r) {
            try {
                worker.call(() -> {
                    r.memory.deregister();
                    return null;
                });
            } catch (WsaException e) {
                LOG.warn("deregistering {} bytes failed", r.buffer.capacity(), e);
            }
        }
    }

    @Override
    public void checkRemote(RdmaBufferDescriptor descriptor, long offset, long length) throws WsaException {
        UcxRegion.Descriptor.decode(descriptor).checkRange(offset, length);
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

    @Override
    public void closeGracefully() {
        shutDown(false);
        end();
    }

    @Override
    public void reset() {
        shutDown(true);
        end();
    }

    /**
     * Closes the endpoint (forced or flushing), refuses queued requests and closes the listener,
     * then progresses until every callback of this socket has come back. From inside a UCX
     * callback the waiting is left to the worker loop (progress cannot nest).
     */
    private void shutDown(boolean force) {
        Runnable close = () -> {
            for (Request r; (r = requests.poll()) != null;) {
                r.request().reject(); // spec Q17
            }
            if (listener != null) {
                // UCX 1.13 frees a listener while connections still in its handshake point at it,
                // and a late one then crashes the process: the listener stays, refusing, until
                // the run ends and goes just before its worker.
                owner.retire(listener);
                listener = null;
            }
            if (endpoint != null && closing == null) {
                closing = force ? endpoint.closeNonBlockingForce() : endpoint.closeNonBlockingFlush();
            }
            if (!worker.inCallback()) {
                UcpRequest c = closing;
                if (!worker.progressUntil(() -> outstanding.get() == 0 && (c == null || c.isCompleted()), CALLBACK_WAIT)) {
                    LOG.warn("UCX callbacks of a closing socket did not all come back in {} s", CALLBACK_WAIT.toSeconds());
                }
            }
        };
        try {
            worker.call(() -> {
                close.run();
                return null;
            });
        } catch (WsaException e) {
            LOG.warn("closing a UCX socket failed", e);
        }
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        try {
            worker.call(() -> {
                for (UcpRemoteKey k : remoteKeys.values()) {
                    k.close();
                }
                remoteKeys.clear();
                return null;
            });
        } catch (WsaException e) {
            LOG.warn("releasing remote keys failed", e);
        }
        owner.forget(this);
    }

    int outstanding() {
        return outstanding.get();
    }
}
