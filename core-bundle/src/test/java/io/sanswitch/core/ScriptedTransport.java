package io.sanswitch.core;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.ConnectionRequest;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.transport.TransportEvents;
import io.sanswitch.transport.TransportRegion;
import io.sanswitch.transport.TransportSocket;

/**
 * A scripted backend for unit tests of the engine's sequencing (test scope only; never a stand-in
 * for a real backend). It holds posted operations until the test completes them, from any thread,
 * raises events on command, can be told to fail any primitive, and writes every primitive it runs
 * into one {@link #journal} with a global sequence number, so tests can prove the order of steps.
 */
final class ScriptedTransport implements Transport {

    /** The primitives that can be told to fail. */
    enum Primitive {
        OPEN, NEW_SOCKET, BIND, LISTEN, CONNECT, ACCEPT, POST, REGISTER, CHECK_REMOTE, GET_OPTION, SET_OPTION,
        LOCAL_ADDRESSES
    }

    /** One step the backend ran, or one upcall the test's switch saw (same sequence). */
    record Entry(long seq, String what, Object subject) {
    }

    static final AtomicLong SEQUENCE = new AtomicLong();

    final ConcurrentLinkedQueue<Entry> journal = new ConcurrentLinkedQueue<>();
    final AtomicInteger opens = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();
    final AtomicInteger liveSockets = new AtomicInteger();
    final AtomicInteger liveRegions = new AtomicInteger();
    final CopyOnWriteArrayList<ScriptedSocket> sockets = new CopyOnWriteArrayList<>();
    private final Map<Primitive, WsaError> failures = new EnumMap<>(Primitive.class);
    private final TransportCapabilities capabilities;
    volatile TransportEvents events;
    volatile boolean networkFailed;
    volatile boolean connectAtOnce = true;
    /** Runs inside every post, on the posting thread, once the operation is held (a backend busy in a post). */
    volatile java.util.function.Consumer<PostedOperation> insidePost;
    /** Runs inside every graceful close, on the closing thread, before the socket ends (a backend that waits for its peer). */
    volatile java.util.function.Consumer<ScriptedSocket> insideClose;
    /** Runs inside every registration, on the registering thread, with the buffer registered. */
    volatile java.util.function.Consumer<ByteBuffer> insideRegister;
    /** Runs inside every deregistration, on the deregistering thread, before the region is released (UCX's waits for its peer). */
    volatile java.util.function.Consumer<Region> insideDeregister;

    private final String name;

    ScriptedTransport() {
        this(new TransportCapabilities(true, false, 0, 1 << 24, 64 * 1024));
    }

    ScriptedTransport(TransportCapabilities capabilities) {
        this("scripted", capabilities);
    }

    /** A scripted backend that calls itself {@code name} (diagnostics tests list several). */
    ScriptedTransport(String name, TransportCapabilities capabilities) {
        this.name = name;
        this.capabilities = capabilities;
    }

    void log(String what, Object subject) {
        journal.add(new Entry(SEQUENCE.incrementAndGet(), what, subject));
    }

    synchronized void fail(Primitive p, WsaError error) {
        if (error == null) {
            failures.remove(p);
        } else {
            failures.put(p, error);
        }
    }

    /** Makes every primitive throw a RuntimeException, as a buggy backend would. */
    volatile boolean crash;

    private synchronized void maybeFail(Primitive p) throws WsaException {
        if (crash) {
            throw new IllegalStateException("scripted crash in " + p);
        }
        WsaError e = failures.get(p);
        if (e != null) {
            throw new WsaException(e, "scripted failure of " + p);
        }
    }

    /** All operations posted and neither reported nor cancelled yet. */
    List<PostedOperation> held() {
        List<PostedOperation> all = new ArrayList<>();
        for (ScriptedSocket s : sockets) {
            all.addAll(s.held);
        }
        return all;
    }

    List<Entry> journal(String what) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : journal) {
            if (e.what.equals(what)) {
                out.add(e);
            }
        }
        return out;
    }

    long firstSeq(String what) {
        return journal(what).stream().mapToLong(Entry::seq).min().orElse(Long.MAX_VALUE);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public TransportCapabilities capabilities() {
        return capabilities;
    }

    @Override
    public void open(TransportEvents events) throws WsaException {
        maybeFail(Primitive.OPEN);
        this.events = events;
        opens.incrementAndGet();
        networkFailed = false;
        log("open", this);
    }

    @Override
    public void close() {
        if (crash) {
            closes.incrementAndGet();
            throw new IllegalStateException("scripted crash in close");
        }
        closes.incrementAndGet();
        log("close", this);
    }

    @Override
    public boolean networkSubsystemFailed() {
        return networkFailed;
    }

    @Override
    public TransportSocket newSocket(int addressFamily) throws WsaException {
        maybeFail(Primitive.NEW_SOCKET);
        return track(new ScriptedSocket());
    }

    private ScriptedSocket track(ScriptedSocket s) {
        sockets.add(s);
        liveSockets.incrementAndGet();
        return s;
    }

    @Override
    public List<InetAddress> localAddresses() throws WsaException {
        maybeFail(Primitive.LOCAL_ADDRESSES);
        return List.of(InetAddress.getLoopbackAddress());
    }

    /** Journals the batch (a copy: socket to its operations, in the order handed over), then the SPI's default. */
    /** Its batch cancel is one journal entry: every operation in one call, as UCX's. */
    @Override
    public int cancelBatchOperations() {
        return Integer.MAX_VALUE;
    }

    @Override
    public void cancel(Map<TransportSocket, List<PostedOperation>> operations) {
        Map<TransportSocket, List<PostedOperation>> copy = new java.util.LinkedHashMap<>();
        operations.forEach((s, ops) -> copy.put(s, List.copyOf(ops)));
        log("cancelBatch", copy);
        Transport.super.cancel(operations);
    }

    /** Journals the batch (a copy), then the SPI's default. */
    @Override
    public void reset(List<TransportSocket> toReset) {
        log("resetBatch", List.copyOf(toReset));
        Transport.super.reset(toReset);
    }

    /** A request the test queues on a listener. */
    record Request(InetSocketAddress peer, byte[] callerData) implements ConnectionRequest {
    }

    record Region(ByteBuffer buffer, RdmaBufferDescriptor remoteDescriptor) implements TransportRegion {
    }

    final class ScriptedSocket implements TransportSocket {
        final ConcurrentLinkedDeque<PostedOperation> held = new ConcurrentLinkedDeque<>();
        final ConcurrentLinkedDeque<Request> requests = new ConcurrentLinkedDeque<>();
        final Map<Long, Integer> options = new ConcurrentHashMap<>();
        volatile InetSocketAddress local;
        /** Where the engine asked this socket to connect. */
        volatile InetSocketAddress connectedTo;
        volatile String endedBy;
        volatile boolean rejectedLast;
        /** The bind, option and connect calls this socket took, in order (level/name=value for options). */
        final List<String> steps = new CopyOnWriteArrayList<>();

        @Override
        public void bind(InetSocketAddress address) throws WsaException {
            maybeFail(Primitive.BIND);
            steps.add("bind " + address);
            local = address;
        }

        @Override
        public InetSocketAddress localAddress() {
            return local;
        }

        @Override
        public void listen(int backlog) throws WsaException {
            maybeFail(Primitive.LISTEN);
        }

        @Override
        public boolean connect(InetSocketAddress remote, byte[] callerData) throws WsaException {
            maybeFail(Primitive.CONNECT);
            steps.add("connect " + remote);
            connectedTo = remote;
            return connectAtOnce;
        }

        /** The test queues a connection request and reports it, as a backend would. */
        void arrive(InetSocketAddress peer) {
            requests.add(new Request(peer, new byte[0]));
            events.connectionRequested(this);
        }

        @Override
        public ConnectionRequest peekConnectionRequest() {
            return requests.peekFirst();
        }

        @Override
        public TransportSocket accept(ConnectionRequest request) throws WsaException {
            maybeFail(Primitive.ACCEPT);
            requests.remove(request);
            return track(new ScriptedSocket());
        }

        @Override
        public void reject(ConnectionRequest request) {
            requests.remove(request);
            rejectedLast = true;
        }

        @Override
        public void post(PostedOperation operation) throws WsaException {
            maybeFail(Primitive.POST);
            held.add(operation);
            log("post", operation);
            java.util.function.Consumer<PostedOperation> hook = insidePost;
            if (hook != null) {
                hook.accept(operation);
            }
        }

        @Override
        public void cancel(PostedOperation operation) {
            held.remove(operation);
            log("cancel", operation);
        }

        /** Reports the oldest held operation as done, as a backend thread would. */
        boolean completeOldest(long bytes) {
            PostedOperation op = held.pollFirst();
            if (op == null) {
                return false;
            }
            events.operationCompleted(op, bytes);
            return true;
        }

        @Override
        public TransportRegion register(ByteBuffer buffer, int access, boolean remote) throws WsaException {
            maybeFail(Primitive.REGISTER);
            java.util.function.Consumer<ByteBuffer> hook = insideRegister;
            if (hook != null) {
                hook.accept(buffer);
            }
            liveRegions.incrementAndGet();
            Region r = new Region(buffer, remote ? RdmaBufferDescriptor.of(new byte[] {1, (byte) liveRegions.get(),
                    (byte) System.identityHashCode(buffer)}) : null);
            log("register", r);
            return r;
        }

        @Override
        public void deregister(TransportRegion region) {
            java.util.function.Consumer<Region> hook = insideDeregister;
            if (hook != null) {
                hook.accept((Region) region);
            }
            liveRegions.decrementAndGet();
            log("deregister", region);
        }

        @Override
        public void checkRemote(RdmaBufferDescriptor descriptor, long offset, long length) throws WsaException {
            maybeFail(Primitive.CHECK_REMOTE);
        }

        @Override
        public int getOption(int level, int name) throws WsaException {
            maybeFail(Primitive.GET_OPTION);
            Integer v = options.get(((long) level << 32) | name);
            if (v == null) {
                throw new WsaException(WsaError.WSAENOPROTOOPT, "option " + name);
            }
            return v;
        }

        @Override
        public void setOption(int level, int name, int value) throws WsaException {
            maybeFail(Primitive.SET_OPTION);
            steps.add("option 0x" + Integer.toHexString(level) + "/0x" + Integer.toHexString(name) + "=" + value);
            options.put(((long) level << 32) | name, value);
        }

        @Override
        public void closeGracefully() {
            java.util.function.Consumer<ScriptedSocket> hook = insideClose;
            if (hook != null) {
                hook.accept(this);
            }
            end("closeGracefully");
        }

        @Override
        public void reset() {
            end("reset");
        }

        private void end(String how) {
            if (endedBy != null) {
                throw new AssertionError("socket ended twice: " + endedBy + " then " + how);
            }
            endedBy = how;
            liveSockets.decrementAndGet();
            log(how, this);
        }
    }
}
