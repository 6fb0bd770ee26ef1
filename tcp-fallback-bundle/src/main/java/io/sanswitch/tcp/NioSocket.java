package io.sanswitch.tcp;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.io.Closeable;
import java.nio.channels.SelectableChannel;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

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
 * One TCP socket over java.nio. Plain TCP on the wire: the bytes of posted sends, in order,
 * nothing added (docs/architecture.md). Posted receives are filled straight from the channel into the
 * switch's buffers, and complete with whatever one read delivered (a partial receive, as TCP).
 *
 * <p>Its loop thread does all I/O while holding this socket's monitor, and {@link #cancel} takes
 * the same monitor, so once cancel returns the operation's buffers are never touched again.
 * Reports to the engine are made after the monitor is released.
 */
final class NioSocket implements TransportSocket {
    private static final Logger LOG = LoggerFactory.getLogger(NioSocket.class);

    /** Per-socket defaults from the configuration. */
    record Settings(boolean tcpNoDelay, int receiveBufferBytes, int sendBufferBytes) {
    }

    private final NioTransport owner;
    private final Settings settings;
    private final SelectorLoop loop;
    // Guarded by this.
    private InetSocketAddress bindAddress;
    private SocketChannel channel;
    private ServerSocketChannel server;
    private SelectionKey key;
    private int backlog;
    private boolean tcpNoDelay;
    /** SO_RCVBUF and SO_SNDBUF for the channel, 0 for the system's default; set by configuration or setOption. */
    private int receiveBufferBytes;
    private int sendBufferBytes;
    private boolean ended;
    private boolean networkLost;
    private final ArrayDeque<PostedOperation> sends = new ArrayDeque<>();
    private final ArrayDeque<PostedOperation> recvs = new ArrayDeque<>();
    private long sentOfHead;
    private final ArrayDeque<Request> requests = new ArrayDeque<>();
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();

    /** A connection the kernel already accepted, waiting for the switch's condition function. */
    private record Request(SocketChannel channel, InetSocketAddress peer) implements ConnectionRequest {
        @Override
        public byte[] callerData() {
            return new byte[0];
        }
    }

    NioSocket(NioTransport owner, SelectorLoop loop, Settings settings) {
        this.owner = owner;
        this.loop = loop;
        this.settings = settings;
        this.tcpNoDelay = settings.tcpNoDelay();
        this.receiveBufferBytes = settings.receiveBufferBytes();
        this.sendBufferBytes = settings.sendBufferBytes();
    }

    /** An accepted, connected socket. */
    NioSocket(NioTransport owner, SelectorLoop loop, SocketChannel accepted, Settings settings) {
        this(owner, loop, settings);
        this.channel = accepted;
        loop.execute(this::registerConnected);
    }

    @Override
    public synchronized void bind(InetSocketAddress local) throws WsaException {
        // The backend learns at listen or connect which kind of channel this is; check the
        // address now so bind reports what bind may report.
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(local);
            bindAddress = (InetSocketAddress) probe.getLocalAddress();
        } catch (BindException e) {
            throw new WsaException(e.getMessage() != null && e.getMessage().contains("in use") ? WsaError.WSAEADDRINUSE
                    : WsaError.WSAEADDRNOTAVAIL, "bind " + local + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new WsaException(WsaError.WSAENETDOWN, "bind " + local + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized InetSocketAddress localAddress() {
        try {
            if (server != null) {
                return (InetSocketAddress) server.getLocalAddress();
            }
            if (channel != null) {
                return (InetSocketAddress) channel.getLocalAddress();
            }
        } catch (IOException e) {
            return bindAddress;
        }
        return bindAddress;
    }

    @Override
    public synchronized void listen(int backlog) throws WsaException {
        this.backlog = backlog == Winsock.SOMAXCONN ? 1024 : Math.min(backlog, 1024);
        try {
            server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(bindAddress, this.backlog);
            server.configureBlocking(false);
        } catch (IOException e) {
            closeQuietly(server);
            server = null;
            throw new WsaException(WsaError.WSAENETDOWN, "listen on " + bindAddress + ": " + e.getMessage(), e);
        }
        loop.execute(() -> register(server, SelectionKey.OP_ACCEPT));
    }

    @Override
    public synchronized boolean connect(InetSocketAddress remote, byte[] callerData) throws WsaException {
        try {
            channel = SocketChannel.open();
            channel.configureBlocking(false);
            applySettings(channel);
            if (bindAddress != null) {
                channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                channel.bind(bindAddress);
            }
            if (channel.connect(remote)) {
                loop.execute(this::registerConnected);
                return true;
            }
        } catch (IOException e) {
            closeQuietly(channel);
            channel = null;
            throw new WsaException(connectError(e), "connect to " + remote + ": " + e.getMessage(), e);
        }
        loop.execute(() -> register(channel, SelectionKey.OP_CONNECT));
        return false;
    }

    private void applySettings(SocketChannel ch) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, tcpNoDelay);
        if (receiveBufferBytes > 0) {
            ch.setOption(StandardSocketOptions.SO_RCVBUF, receiveBufferBytes);
        }
        if (sendBufferBytes > 0) {
            ch.setOption(StandardSocketOptions.SO_SNDBUF, sendBufferBytes);
        }
    }

    /** docs/rules.md SW-provider-codes: the code decides whether the switch falls back to TCP. */
    static WsaError connectError(IOException e) {
        if (e instanceof ConnectException) {
            // Nobody listens on that port: a TCP attempt would fail the same way.
            return WsaError.WSAECONNRESET;
        }
        if (e instanceof NoRouteToHostException) {
            return WsaError.WSAEHOSTUNREACH;
        }
        if (e.getMessage() != null && e.getMessage().contains("reset")) {
            // Reset right after the handshake: the remote switch refused it (its condition function).
            return WsaError.WSAECONNREFUSED;
        }
        // Anything else might still work over the TCP/IP provider: let the switch fall back.
        return WsaError.WSAETIMEDOUT;
    }

    private synchronized void register(SelectableChannel ch, int ops) {
        if (ended || ch == null) {
            return;
        }
        try {
            key = ch.register(loop.selector(), ops, this);
        } catch (IOException e) {
            LOG.warn("register {} with its selector", ch, e);
        }
    }

    private void registerConnected() {
        register(channel, 0);
        updateInterest();
    }

    /** Called on the loop thread for a ready key. */
    void onReady(SelectionKey k) {
        int ready;
        try {
            ready = k.readyOps(); // one snapshot: a close on another thread may cancel the key at any moment
        } catch (CancelledKeyException closedMeanwhile) {
            return;
        }
        if ((ready & SelectionKey.OP_ACCEPT) != 0) {
            onAcceptable();
        } else if ((ready & SelectionKey.OP_CONNECT) != 0) {
            onConnectable();
        } else {
            if ((ready & SelectionKey.OP_READ) != 0) {
                onReadable();
            }
            if ((ready & SelectionKey.OP_WRITE) != 0 && k.isValid()) {
                onWritable();
            }
        }
    }

    private void onAcceptable() {
        int arrived = 0;
        synchronized (this) {
            if (ended) {
                return;
            }
            while (true) {
                SocketChannel ch;
                try {
                    ch = server.accept();
                } catch (IOException e) {
                    LOG.warn("accept on {}", server, e);
                    break;
                }
                if (ch == null) {
                    break;
                }
                if (requests.size() >= backlog) {
                    // docs/rules.md EV-backlog: a full backlog refuses at once, with no event.
                    abort(ch);
                    continue;
                }
                try {
                    requests.add(new Request(ch, (InetSocketAddress) ch.getRemoteAddress()));
                    arrived++;
                } catch (IOException e) {
                    abort(ch);
                }
            }
        }
        for (int i = 0; i < arrived; i++) {
            owner.events().connectionRequested(this);
        }
    }

    private void onConnectable() {
        WsaError error = null;
        synchronized (this) {
            if (ended) {
                return;
            }
            try {
                channel.finishConnect();
                key.interestOps(0);
            } catch (IOException e) {
                error = connectError(e);
            }
            if (error == null) {
                updateInterest();
            }
        }
        owner.events().connectCompleted(this, error);
    }

    private void onReadable() {
        List<Runnable> reports;
        synchronized (this) {
            reports = takeDeferred();
            if (!ended && !recvs.isEmpty()) {
                readInto(reports);
            } else if (key != null && key.isValid()) {
                // Readable with no receive posted: stop listening until one is.
                key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
            }
            updateInterest();
        }
        run(reports);
    }

    /**
     * Reads into the posted receives in order. Goes on to the next receive only while a read
     * filled its buffer (more is likely waiting), so one wake-up serves several receives under load
     * without an extra read that would find nothing. Guarded by this.
     */
    private void readInto(List<Runnable> reports) {
        while (!recvs.isEmpty()) {
            PostedOperation op = recvs.peekFirst();
            ByteBuffer[] buffers = op.buffers();
            long n;
            try {
                n = buffers.length == 1 ? channel.read(buffers[0]) : channel.read(buffers);
            } catch (IOException e) {
                failAll(reports, ioError());
                return;
            }
            if (n == 0) {
                return;
            }
            recvs.pollFirst();
            long bytes = Math.max(n, 0); // -1: the peer closed in order, a 0-byte receive
            reports.add(() -> owner.events().operationCompleted(op, bytes));
            if (n < 0) {
                // Every further receive also sees the end of the stream.
                for (PostedOperation more : recvs) {
                    reports.add(() -> owner.events().operationCompleted(more, 0));
                }
                recvs.clear();
                return;
            }
            if (n < op.length()) {
                return;
            }
        }
    }

    private void onWritable() {
        List<Runnable> reports;
        synchronized (this) {
            reports = takeDeferred();
            if (!ended) {
                writeQueued(reports);
            }
            updateInterest();
        }
        run(reports);
    }

    /** Writes queued sends until the socket would block. Guarded by this. */
    private void writeQueued(List<Runnable> reports) {
        try {
            while (!sends.isEmpty()) {
                PostedOperation op = sends.peekFirst();
                ByteBuffer[] buffers = op.buffers();
                sentOfHead += buffers.length == 1 ? channel.write(buffers[0]) : channel.write(buffers);
                if (sentOfHead < op.length()) {
                    break;
                }
                sends.pollFirst();
                long bytes = sentOfHead;
                sentOfHead = 0;
                reports.add(() -> owner.events().operationCompleted(op, bytes));
            }
        } catch (IOException e) {
            failAll(reports, ioError());
        }
    }

    /**
     * Reports made on a posting thread wait here for the loop, so that no completion is reported
     * before {@code post} returns (TransportSocket contract) and reports keep posting order
     * (docs/rules.md Q21): every report batch of this socket starts with these. Guarded by this.
     */
    private List<Runnable> takeDeferred() {
        if (deferred.isEmpty()) {
            return new ArrayList<>(2);
        }
        List<Runnable> reports = new ArrayList<>(deferred);
        deferred.clear();
        return reports;
    }

    private void flushDeferred() {
        List<Runnable> reports;
        synchronized (this) {
            reports = takeDeferred();
        }
        run(reports);
    }

    /**
     * The status for a connection that failed under I/O: {@code WSAENETDOWN} if the interface
     * under it is gone (the subsystem failed), else {@code WSAECONNRESET} (the peer reset it).
     * Guarded by this.
     */
    private WsaError ioError() {
        InetAddress local = null;
        try {
            local = ((InetSocketAddress) channel.getLocalAddress()).getAddress();
        } catch (IOException | RuntimeException e) {
            // closed: fall through to the reset
        }
        if (local != null && !owner.isUp(local)) {
            networkLost = true;
            owner.networkLost(local);
            return WsaError.WSAENETDOWN;
        }
        return WsaError.WSAECONNRESET;
    }

    private void failAll(List<Runnable> reports, WsaError error) {
        for (PostedOperation op : sends) {
            long moved = op == sends.peekFirst() ? sentOfHead : 0;
            reports.add(() -> owner.events().operationFailed(op, error, moved));
        }
        for (PostedOperation op : recvs) {
            reports.add(() -> owner.events().operationFailed(op, error, 0));
        }
        sends.clear();
        recvs.clear();
        sentOfHead = 0;
    }

    private static void run(List<Runnable> reports) {
        for (Runnable r : reports) {
            r.run();
        }
    }

    /**
     * Sets the selector interest from the queues. Read interest is kept once set, even with no
     * receive posted, and dropped only when a read finds none ({@link #onReadable}): a switch
     * reposts its receive from the completion upcall, so dropping and re-adding it each time would
     * cost two epoll_ctl calls per receive. Guarded by this.
     */
    private void updateInterest() {
        if (key == null || !key.isValid() || channel == null || !channel.isConnected()) {
            return;
        }
        int current = key.interestOps();
        int ops = (recvs.isEmpty() ? current & SelectionKey.OP_READ : SelectionKey.OP_READ)
                | (sends.isEmpty() ? 0 : SelectionKey.OP_WRITE);
        if (ops != current) {
            key.interestOps(ops);
        }
    }

    @Override
    public synchronized ConnectionRequest peekConnectionRequest() {
        return requests.peekFirst();
    }

    @Override
    public TransportSocket accept(ConnectionRequest request) throws WsaException {
        Request r;
        synchronized (this) {
            if (!(request instanceof Request q) || !requests.remove(q)) {
                throw new WsaException(WsaError.WSAEINVAL, "not a queued request of this socket");
            }
            r = q;
        }
        try {
            r.channel.configureBlocking(false);
            applySettings(r.channel);
        } catch (IOException e) {
            abort(r.channel);
            throw new WsaException(WsaError.WSAECONNRESET, "accepted connection failed: " + e.getMessage(), e);
        }
        return owner.adopt(r.channel);
    }

    @Override
    public void reject(ConnectionRequest request) {
        synchronized (this) {
            if (request instanceof Request q && requests.remove(q)) {
                abort(q.channel);
            }
        }
    }

    /** The local IP of a connected or listening socket, for the interface check; else {@code null}. */
    synchronized InetAddress boundAddress() {
        if (ended || networkLost) {
            return null;
        }
        try {
            if (channel != null && channel.isConnected()) {
                return ((InetSocketAddress) channel.getLocalAddress()).getAddress();
            }
            if (server != null) {
                return ((InetSocketAddress) server.getLocalAddress()).getAddress();
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** The interface under this socket is gone: its pending operations fail with WSAENETDOWN. */
    void networkLost() {
        loop.execute(() -> {
            List<Runnable> reports;
            synchronized (this) {
                if (ended || networkLost) {
                    return;
                }
                reports = takeDeferred();
                networkLost = true;
                failAll(reports, WsaError.WSAENETDOWN);
                updateInterest();
            }
            run(reports);
        });
    }

    @Override
    public void post(PostedOperation op) throws WsaException {
        boolean needInterest;
        boolean reportLater = false;
        synchronized (this) {
            if (networkLost) {
                throw new WsaException(WsaError.WSAENETDOWN, "the interface under this socket is gone");
            }
            if (ended || channel == null) {
                throw new WsaException(WsaError.WSAENOTCONN, "not connected");
            }
            switch (op.kind()) {
                case SEND -> {
                    boolean idle = sends.isEmpty();
                    sends.add(op);
                    if (idle && channel.isConnected() && key != null) {
                        // Write at once, as a blocking write would: no wait for the loop's next turn.
                        List<Runnable> reports = new ArrayList<>(1);
                        writeQueued(reports);
                        deferred.addAll(reports);
                        reportLater = !reports.isEmpty();
                    }
                    needInterest = !sends.isEmpty();
                }
                case RECV -> {
                    recvs.add(op);
                    needInterest = key == null || !key.isValid() || (key.interestOps() & SelectionKey.OP_READ) == 0;
                }
                default -> throw new WsaException(WsaError.WSAEOPNOTSUPP, "TCP has no RDMA");
            }
        }
        if (reportLater) {
            loop.later(this::flushDeferred);
        }
        if (needInterest) {
            loop.execute(() -> {
                synchronized (this) {
                    updateInterest();
                }
            });
        }
    }

    @Override
    public synchronized void cancel(PostedOperation op) {
        if (sends.peekFirst() == op) {
            sentOfHead = 0;
        }
        sends.remove(op);
        recvs.remove(op);
    }

    @Override
    public TransportRegion register(ByteBuffer buffer, int access, boolean remote) throws WsaException {
        if (remote) {
            throw new WsaException(WsaError.WSAEOPNOTSUPP, "TCP has no RDMA");
        }
        // Plain TCP reads and writes any buffer: registration only names it.
        return new TransportRegion() {
            @Override
            public ByteBuffer buffer() {
                return buffer;
            }

            @Override
            public RdmaBufferDescriptor remoteDescriptor() {
                return null;
            }
        };
    }

    @Override
    public void deregister(TransportRegion region) {
        // nothing is pinned for plain TCP
    }

    @Override
    public void checkRemote(RdmaBufferDescriptor descriptor, long offset, long length) throws WsaException {
        throw new WsaException(WsaError.WSAEOPNOTSUPP, "TCP has no RDMA");
    }

    @Override
    public synchronized int getOption(int level, int name) throws WsaException {
        if (level == Winsock.IPPROTO_TCP && name == Winsock.TCP_NODELAY) {
            return tcpNoDelay ? 1 : 0;
        }
        if (level == Winsock.SOL_SOCKET && (name == Winsock.SO_RCVBUF || name == Winsock.SO_SNDBUF)) {
            boolean receive = name == Winsock.SO_RCVBUF;
            if (channel == null) {
                return receive ? receiveBufferBytes : sendBufferBytes; // 0: the system's default, decided at connect
            }
            try {
                return channel.getOption(receive ? StandardSocketOptions.SO_RCVBUF : StandardSocketOptions.SO_SNDBUF);
            } catch (IOException e) {
                throw new WsaException(WsaError.WSAENETRESET, (receive ? "SO_RCVBUF: " : "SO_SNDBUF: ") + e.getMessage(), e);
            }
        }
        throw new WsaException(WsaError.WSAENOPROTOOPT, "option 0x" + Integer.toHexString(name));
    }

    @Override
    public synchronized void setOption(int level, int name, int value) throws WsaException {
        if (level == Winsock.IPPROTO_TCP && name == Winsock.TCP_NODELAY) {
            tcpNoDelay = value != 0;
            if (channel != null) {
                try {
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, tcpNoDelay);
                } catch (IOException e) {
                    throw new WsaException(WsaError.WSAENETRESET, "TCP_NODELAY: " + e.getMessage(), e);
                }
            }
            return;
        }
        if (level == Winsock.SOL_SOCKET && (name == Winsock.SO_RCVBUF || name == Winsock.SO_SNDBUF)) {
            setBufferSize(name == Winsock.SO_RCVBUF, value);
            return;
        }
        throw new WsaException(WsaError.WSAENOPROTOOPT, "option 0x" + Integer.toHexString(name));
    }

    /** A buffer size from the switch, checked against the same bounds as the configuration's. */
    private void setBufferSize(boolean receive, int bytes) throws WsaException {
        String option = receive ? "SO_RCVBUF" : "SO_SNDBUF";
        if (bytes < 1 || bytes > TcpSettings.MAX_BUFFER_BYTES) {
            throw new WsaException(WsaError.WSAEINVAL, option + " " + bytes + " is outside 1 .. " + TcpSettings.MAX_BUFFER_BYTES);
        }
        if (receive) {
            receiveBufferBytes = bytes;
        } else {
            sendBufferBytes = bytes;
        }
        if (channel != null) {
            try {
                channel.setOption(receive ? StandardSocketOptions.SO_RCVBUF : StandardSocketOptions.SO_SNDBUF, bytes);
            } catch (IOException e) {
                throw new WsaException(WsaError.WSAENETRESET, option + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void closeGracefully() {
        end(false);
    }

    @Override
    public void reset() {
        end(true);
    }

    private void end(boolean abortive) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            deferred.clear();
            sends.clear();
            recvs.clear();
            if (key != null) {
                key.cancel();
            }
            for (Request r : requests) {
                abort(r.channel); // docs/rules.md Q17: queued requests are refused
            }
            requests.clear();
            if (channel != null) {
                if (abortive) {
                    abort(channel);
                } else {
                    closeQuietly(channel);
                }
            }
            closeQuietly(server);
        }
        owner.forget(this);
    }

    /** SO_LINGER 0 then close: the peer sees a reset (docs/rules.md LC-c). */
    static void abort(SocketChannel ch) {
        try {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException e) {
            // closed already
        }
        closeQuietly(ch);
    }

    private static void closeQuietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            LOG.debug("close", e);
        }
    }
}
