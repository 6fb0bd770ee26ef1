package io.sanswitch.rdma;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.LocalInterfaces;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.transport.TransportEvents;
import io.sanswitch.transport.TransportSocket;

/**
 * The RDMA backend on UCX (JUCX): a context and one worker with its progress thread per run,
 * peers meeting by socket address through the {@link Rendezvous} and connected by worker address,
 * a tagged-message data path, memory mapping and RMA put/get for the SAN extensions. It counts
 * nothing and orders nothing: the engine owns every SPI rule.
 *
 * <p>The JVM must run with {@code UCX_ERROR_SIGNALS} set to an empty value, so that UCX's own
 * signal handlers stay out of the JVM's way (docs/toolchain.md TC-12, openucx/ucx#3337).
 */
public final class UcxTransport implements Transport {
    /** The backend's name: {@link #name()} and its service property {@code sanswitch.transport}. */
    static final String NAME = "ucx";
    private static final Logger LOG = LoggerFactory.getLogger(UcxTransport.class);
    private static final Duration TEARDOWN_WAIT = Duration.ofSeconds(5);
    /** How long closing endpoints may take to call back every request (they are forced: at once, normally). */
    private static final Duration CALLBACK_WAIT = Duration.ofSeconds(5);
    /** Endpoints force-closed together before their callbacks are waited for (see {@link #forceCloseAndAwait}). */
    private static final int CLOSE_WINDOW = 64;

    /**
     * How often the interfaces under open sockets are checked (docs/rules.md LC-e): UCX has no watch of
     * its own and keeps a connection whose address went away, so without this a receive across a
     * removed link stays pending. Listing the interfaces costs well under a millisecond.
     */
    static final long NETWORK_CHECK_MILLIS = 200;

    /** How long a peer may take over the rendezvous handshake when nothing is configured. */
    static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

    private final ProgressPolicy policy;
    private final String transports;
    private final RendezvousKey.Source keySource;
    private final Duration handshakeTimeout;
    private volatile RendezvousKey key;
    private final Set<UcxSocket> sockets = ConcurrentHashMap.newKeySet();
    /** See {@link #registrationWait()}. Any thread. */
    private volatile Duration registrationWait = UcxWorkerThread.CALL_TIMEOUT;
    private final Set<InetSocketAddress> listenedOn = ConcurrentHashMap.newKeySet();
    /** Connection ids, used as the tag each connection receives with; unique per worker. */
    private final AtomicLong connectionIds = new AtomicLong();
    /** Memory regions mapped and not yet unmapped, for the leak checks. */
    private final AtomicLong registeredRegions = new AtomicLong();
    /** {@link #workerHops()} of the runs closed so far. */
    private final AtomicLong hopsOfEndedRuns = new AtomicLong();
    /** Sockets with receives posted: pumped after each progress round. Worker thread only. */
    private final Set<UcxSocket> receiving = new java.util.LinkedHashSet<>();
    /**
     * {@link #receiving} as an array, made again only when the set has changed, at the start of a
     * pump: the progress loop walks it on every turn, and a copy per turn showed in the profile of
     * a busy stream; a copy per change made a final cleanup quadratic (each of 10,000 sockets
     * leaving the set copied the rest). Worker thread only.
     */
    private UcxSocket[] receivingNow = new UcxSocket[0];
    /** {@link #receiving} changed since {@link #receivingNow} was made. Worker thread only. */
    private boolean receivingChanged;
    /** The network under this run failed (reported to the engine once per run). */
    private final AtomicBoolean networkFailed = new AtomicBoolean();
    private volatile TransportEvents events;
    private volatile UcpContext context;
    private volatile UcpWorker worker;
    private volatile long workerHandle;
    private volatile byte[] workerAddress;
    private volatile UcxWorkerThread thread;
    private volatile Rendezvous rendezvous;

    /**
     * @param policy what the progress thread does when idle
     * @param transports UCX transports to use ({@code UCX_TLS}), empty for UCX's choice
     */
    public UcxTransport(ProgressPolicy policy, String transports) {
        this(policy, transports, RendezvousKey.Source.defaults(), DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /**
     * @param keySource the shared key peers prove they hold in the rendezvous, read at each startup
     * @param handshakeTimeout how long a peer may take over the rendezvous handshake
     */
    UcxTransport(ProgressPolicy policy, String transports, RendezvousKey.Source keySource, Duration handshakeTimeout) {
        this.policy = policy;
        this.transports = transports == null ? "" : transports;
        this.keySource = keySource;
        this.handshakeTimeout = handshakeTimeout;
    }

    public UcxTransport() {
        this(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, "");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TransportCapabilities capabilities() {
        return new TransportCapabilities(true, true, 0, 0, 64 * 1024);
    }

    @Override
    public void open(TransportEvents events) throws WsaException {
        if (!Ucx.isAvailable()) {
            throw new WsaException(WsaError.WSASYSNOTREADY, "UCX is not available: " + Ucx.unavailabilityCause());
        }
        try {
            key = keySource.load();
        } catch (IOException | IllegalArgumentException e) {
            throw new WsaException(WsaError.WSASYSNOTREADY, "no shared key for the UCX rendezvous (" + keySource + "): "
                    + e.getMessage(), e);
        }
        this.events = events;
        networkFailed.set(false);
        try {
            UcpParams params = new UcpParams().requestTagFeature().requestRmaFeature();
            if (usesSharedMemory(transports)) {
                // Shared memory under peer error handling: UCX 1.13's posix and sysv transports
                // support it but do not announce it unless asked (UCX_{POSIX,SYSV}_ERROR_HANDLING;
                // a key given here is matched against the fields of their common "MM_" table),
                // and without them every endpoint on one host would run over tcp. (Given when
                // neither is in use, UCX warns of an invalid configuration.)
                params.setConfig("MM_ERROR_HANDLING", "y");
            }
            if (!transports.isEmpty()) {
                params.setConfig("TLS", transports);
            }
            UcpWorkerParams workerParams = new UcpWorkerParams();
            if (policy.sleeps()) {
                // Only then: for tagged messages the wakeup feature admits only lanes that raise events.
                params.requestWakeupFeature();
                workerParams.requestWakeupRX().requestWakeupTX().requestWakeupTagRecv().requestWakeupTagSend();
            }
            context = new UcpContext(params);
            worker = context.newWorker(workerParams);
            workerHandle = worker.getNativeId();
            ByteBuffer address = worker.getAddress();
            byte[] bytes = new byte[address.remaining()];
            address.get(bytes);
            workerAddress = bytes;
        } catch (RuntimeException e) {
            if (worker != null) {
                worker.close();
                worker = null;
            }
            if (context != null) {
                context.close();
                context = null;
            }
            throw new WsaException(WsaError.WSASYSNOTREADY, "UCX context or worker: " + e.getMessage(), e);
        }
        try {
            rendezvous = new Rendezvous("sanswitch-ucx-rendezvous", handshakeTimeout);
        } catch (IOException e) {
            worker.close();
            context.close();
            throw new WsaException(WsaError.WSASYSNOTREADY, "no selector for the UCX rendezvous: " + e.getMessage(), e);
        }
        thread = new UcxWorkerThread(worker, policy, "sanswitch-ucx-progress", this::pumpAll);
        // On the rendezvous thread, off the progress loop: the listing must not delay the data path.
        rendezvous.every(NETWORK_CHECK_MILLIS, this::checkNetwork);
        thread.start();
        rendezvous.start();
    }

    /** Whether a {@code UCX_TLS} value lets UCX use its posix or sysv transport. */
    static boolean usesSharedMemory(String transports) {
        if (transports.isBlank() || transports.startsWith("^")) {
            return true; // UCX's choice, or all but some
        }
        for (String t : transports.split(",")) {
            switch (t.trim().replaceFirst("^\\\\", "")) {
                case "all", "sm", "shm", "mm", "posix", "sysv" -> {
                    return true;
                }
                default -> {
                }
            }
        }
        return false;
    }

    /** Worker thread, after each progress round: hands arrived messages to posted receives. */
    private boolean pumpAll() {
        if (receiving.isEmpty()) {
            return false;
        }
        if (receivingChanged) {
            receivingNow = receiving.toArray(new UcxSocket[0]);
            receivingChanged = false;
        }
        boolean moved = false;
        // A pump may add or remove sockets: this turn walks the array as it was.
        for (UcxSocket s : receivingNow) {
            moved |= s.pump();
        }
        return moved;
    }

    void wantsData(UcxSocket s) {
        if (receiving.add(s)) {
            receivingChanged = true;
        }
    }

    void doneWithData(UcxSocket s) {
        if (receiving.remove(s)) {
            receivingChanged = true;
        }
    }

    /**
     * Tears the run down in UCX's order (docs/toolchain.md TC-12): the rendezvous stopped (no new
     * connections), every socket reset (receives cancelled, endpoints force-closed, the worker
     * progressed until every callback came back), then worker and context destroyed by the
     * progress thread as its last act.
     */
    @Override
    public void close() {
        UcxWorkerThread t = thread;
        if (t == null) {
            return;
        }
        for (UcxSocket s : new ArrayList<>(sockets)) {
            s.reset();
        }
        rendezvous.stop();
        UcpWorker w = worker;
        UcpContext c = context;
        Runnable destroy = () -> {
            receiving.clear();
            receivingNow = new UcxSocket[0];
            receivingChanged = false;
            try {
                w.close();
                // Gone with the worker: what it still held is never called back (docs/toolchain.md TC-21).
                UcxNative.workerDestroyed();
            } catch (RuntimeException e) {
                LOG.warn("closing the UCX worker", e);
            }
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.warn("closing the UCX context", e);
            }
        };
        // The worker is destroyed by its own thread after its last progress call; from inside a
        // UCX callback (a cleanup made in an upcall) that happens when the callback has returned.
        t.stop(destroy);
        hopsOfEndedRuns.addAndGet(t.hops());
        thread = null;
        awaitPortsFree();
    }

    /**
     * One hop to the worker thread for all of them: receives no message has taken are dropped, and
     * the endpoints of sockets with operations inside UCX are force-closed together and waited for
     * once. A hop per operation cost a progress round each, and each round pumps every socket with
     * posted receives: the final cleanup grew with sockets times operations.
     */
    /** Every operation in one call: each batch costs a hop to the worker thread, which pumps every receiving socket. */
    @Override
    public int cancelBatchOperations() {
        return Integer.MAX_VALUE;
    }

    @Override
    public void cancel(Map<TransportSocket, List<PostedOperation>> operations) {
        UcxWorkerThread t = thread;
        Map<UcxSocket, List<PostedOperation>> own = new LinkedHashMap<>();
        Map<TransportSocket, List<PostedOperation>> others = new LinkedHashMap<>();
        for (Map.Entry<TransportSocket, List<PostedOperation>> e : operations.entrySet()) {
            if (t != null && e.getKey() instanceof UcxSocket u && u.belongsTo(this)) {
                own.put(u, e.getValue());
            } else {
                others.put(e.getKey(), e.getValue());
            }
        }
        if (!others.isEmpty()) {
            Transport.super.cancel(others);
        }
        if (own.isEmpty()) {
            return;
        }
        List<UcxSocket> forced = new ArrayList<>();
        try {
            t.call(() -> {
                for (Map.Entry<UcxSocket, List<PostedOperation>> e : own.entrySet()) {
                    if (!e.getKey().dropReceives(e.getValue())) {
                        forced.add(e.getKey()); // UCX cannot cancel a send: only the forced close ends it
                    }
                }
                forceCloseAndAwait(t, forced);
                return null;
            });
        } catch (WsaException e) {
            LOG.warn("cancelling the operations of {} sockets failed", own.size(), e);
        }
        for (UcxSocket s : forced) {
            s.closeListener();
        }
    }

    /**
     * Worker thread: force-closes the endpoints {@value #CLOSE_WINDOW} at a time, each window waited
     * for before the next, so that UCX never has thousands of endpoint closes under way at once.
     */
    void forceCloseAndAwait(UcxWorkerThread t, List<UcxSocket> closing) {
        for (int from = 0; from < closing.size(); from += CLOSE_WINDOW) {
            List<UcxSocket> window = closing.subList(from, Math.min(closing.size(), from + CLOSE_WINDOW));
            for (UcxSocket s : window) {
                s.closeEndpoint(true);
            }
            awaitQuiet(t, window);
        }
    }

    /**
     * Worker thread: progresses until every one of these closing endpoints has called back all its
     * requests (a failed peer's stuck ones are completed after {@link UcxEndpoint#ABANDON_AFTER}),
     * one wait for all of them. From inside a UCX callback (progress cannot nest) the wait is made
     * by the worker loop right after the progress round, after the closes asked for in that
     * callback (docs/toolchain.md TC-23): a socket closed in an upcall is quiet before its remote
     * keys go and before the worker can be destroyed.
     */
    void awaitQuiet(UcxWorkerThread t, List<UcxSocket> closing) {
        if (closing.isEmpty()) {
            return;
        }
        if (t.inCallback()) {
            List<UcxSocket> later = List.copyOf(closing);
            t.later(() -> awaitQuiet(t, later));
            return;
        }
        long start = System.nanoTime();
        // A quiet endpoint stays quiet, and a given-up one given up: one pass over them in all.
        int[] next = {0};
        t.progressUntil(() -> {
            long waited = System.nanoTime() - start;
            while (next[0] < closing.size() && closing.get(next[0]).closedOrGivenUp(waited)) {
                next[0]++;
            }
            return next[0] == closing.size();
        }, CALLBACK_WAIT);
        int held = 0;
        for (UcxSocket s : closing) {
            if (s.afterCloseWait()) {
                held++;
            }
        }
        if (held > 0) {
            LOG.warn("UCX callbacks of {} closing sockets did not all come back in {} ms", held,
                    CALLBACK_WAIT.toMillis());
        }
    }

    void listening(InetSocketAddress address) {
        listenedOn.add(address);
    }

    /**
     * UCX closes a listener's socket asynchronously; the run is over only when its ports can be
     * bound again (docs/rules.md LC-f: restartable at once, ports freed). Bounded wait.
     */
    private void awaitPortsFree() {
        long deadline = System.nanoTime() + TEARDOWN_WAIT.toNanos();
        for (InetSocketAddress address : listenedOn) {
            while (!bindable(address)) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.warn("port {} still busy {} s after the UCX teardown", address, TEARDOWN_WAIT.toSeconds());
                    break;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        listenedOn.clear();
    }

    private static boolean bindable(InetSocketAddress address) {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(address);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public boolean networkSubsystemFailed() {
        return networkFailed.get();
    }

    /**
     * The "bound interface is gone" check, as the tcp backend makes it: a socket whose local address
     * no longer sits on an interface that is up has lost its network. Its pending operations fail
     * with {@code WSAENETDOWN}, and the engine hears that the subsystem failed (it then refuses calls
     * with {@code WSAENETDOWN} and its final cleanup reports it). Rendezvous thread.
     */
    private void checkNetwork() {
        List<UcxSocket> lost;
        try {
            lost = LocalInterfaces.offline(sockets, UcxSocket::interfaceAddress);
        } catch (SocketException e) {
            LOG.debug("cannot list interfaces", e);
            return;
        }
        for (UcxSocket s : lost) {
            if (networkFailed.compareAndSet(false, true)) {
                events.networkSubsystemFailed("interface of " + s.interfaceAddress() + " is gone or down");
            }
            s.networkLost();
        }
    }

    @Override
    public TransportSocket newSocket(int addressFamily) throws WsaException {
        if (addressFamily != Winsock.AF_INET) {
            throw new WsaException(WsaError.WSAEAFNOSUPPORT, "this backend speaks IPv4 only");
        }
        return newConnection();
    }

    /** A new socket of this run, counted until it ends. */
    UcxSocket newConnection() {
        UcxSocket s = new UcxSocket(this, thread);
        sockets.add(s);
        return s;
    }

    long nextConnectionId() {
        return connectionIds.incrementAndGet();
    }

    byte[] workerAddress() {
        return workerAddress;
    }

    Rendezvous rendezvous() {
        return rendezvous;
    }

    /** The shared key of this run's rendezvous. */
    RendezvousKey key() {
        return key;
    }

    /** The worker's native handle (ucp_worker_h), for the calls of {@link UcxNative}. */
    long workerHandle() {
        return workerHandle;
    }

    /**
     * How long a registration made on another thread waits for the progress thread (the call then
     * fails and the mapping, if it comes later, is undone: docs/rules.md RG-given-up).
     */
    Duration registrationWait() {
        return registrationWait;
    }

    /** Tests: a short registration wait, to make a registration give up while the progress thread is held. */
    void registrationWait(Duration wait) {
        registrationWait = wait;
    }

    void registered(int delta) {
        registeredRegions.addAndGet(delta);
    }

    /** Memory regions mapped in UCX and not unmapped yet. */
    long registeredRegions() {
        return registeredRegions.get();
    }

    /** The worker's progress thread of the current run ({@code null} when not open); tests hold it to keep work pending. */
    UcxWorkerThread workerThread() {
        return thread;
    }

    void forget(UcxSocket s) {
        sockets.remove(s);
    }

    TransportEvents events() {
        return events;
    }

    UcpWorker worker() {
        return worker;
    }

    UcpContext context() {
        return context;
    }

    /** UCX's account of each connected socket's endpoint (diagnostics, tests). */
    List<String> describeEndpoints() throws WsaException {
        List<String> all = new ArrayList<>();
        for (UcxSocket s : new ArrayList<>(sockets)) {
            String d = s.describeEndpoint();
            if (d != null) {
                all.add(d);
            }
        }
        return all;
    }

    /** The state of every socket, for a test's failure message or a log line. */
    String describeSockets() {
        return sockets.toString();
    }

    int openSockets() {
        return sockets.size();
    }

    /** Calls other threads made to the worker threads so far, ended runs included (tests: a batch makes one, not one per item). */
    long workerHops() {
        UcxWorkerThread t = thread;
        return hopsOfEndedRuns.get() + (t == null ? 0 : t.hops());
    }

    boolean progressThreadAlive() {
        UcxWorkerThread t = thread;
        Rendezvous r = rendezvous;
        return t != null && t.isAlive() || r != null && r.isAlive();
    }

    @Override
    public List<InetAddress> localAddresses() throws WsaException {
        return LocalInterfaces.forAddressListQuery();
    }
}
