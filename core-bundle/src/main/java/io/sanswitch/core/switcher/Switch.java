package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAEFAULT;
import static io.sanswitch.spi.WsaError.WSAEINTR;
import static io.sanswitch.spi.WsaError.WSAEINVAL;
import static io.sanswitch.spi.WsaError.WSAENETDOWN;
import static io.sanswitch.spi.WsaError.WSAETIMEDOUT;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.config.ConfigReader;
import io.sanswitch.api.SocketSetup;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.core.switcher.view.SocketReasons;
import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.Cidr;
import io.sanswitch.transport.TransportProperties;

/**
 * The switch (docs/architecture.md): the {@link SocketSwitch} service. Every {@link SanServiceProvider} service
 * is bound dynamically and started with this switch's own upcall table (bundle start = startup); its
 * withdrawal (bundle stop) makes new connections go elsewhere at once, and the connections it carried
 * fail. Per connection the peer's address decides: on a SAN subnet, and an RDMA provider running,
 * RDMA; else TCP (docs/rules.md SW-subnet, SW-certain). The switch uses the SPI only, never a backend.
 *
 * <p><b>Threads and locks.</b> Connection logic runs on a fixed pool ({@code sanswitch-switch-io-*}),
 * timeouts on one timer thread ({@code sanswitch-switch-timer}) and the providers' {@code closeSocket}
 * calls and block buffers' deregistrations on a pool of their own ({@code sanswitch-switch-close-*}, docs/rules.md SW-close-off-io), all
 * ended by {@link #deactivate}. On the fast path it runs on the thread at hand when the connection is idle
 * ({@link SerialQueue#executeHere}): the application's for its send and receive, the provider's for
 * a successful completion. Bind and unbind run on the thread that registers or unregisters a provider:
 * for a stopping backend bundle, the framework thread, inside the core's unregistration and just
 * before the provider's final cleanup (docs/toolchain.md TC-13). They only use concurrent maps and flags and
 * call the provider with no switch lock held; the upcalls a cleanup makes (aborted completions,
 * closed handles) only enqueue, and switch code run inside an upcall never blocks. So a cleanup can
 * never wait for this switch, nor this switch for the cleanup.
 */
@Component(service = {SocketSwitch.class, SocketReasons.class, SwitchView.class}, configurationPid = Switch.PID,
        immediate = true)
@Designate(ocd = SwitchConfig.class)
public final class Switch implements SocketSwitch, SocketReasons, SwitchView, SwitchContext {
    private static final Logger LOG = LoggerFactory.getLogger(Switch.class);
    public static final String PID = "io.sanswitch.switch";

    private volatile SwitchSettings settings;
    /** The settings with each value's source, for {@code san:switch}. */
    private volatile ConfiguredSettings configured;
    /** Cleared by deactivate; read from any thread. */
    volatile boolean active = true;
    private final ThreadPoolExecutor io;
    private final ScheduledThreadPoolExecutor timer;
    /**
     * docs/rules.md SW-close-off-io: the providers' closeSocket calls and the deregistrations of dropped
     * block buffers, which may wait for the peer (over UCX each exposed region's revocation, up to
     * seconds), never on {@link #io}. Threads made at the first closes.
     */
    private final ThreadPoolExecutor closes;
    /** {@link #closes} as connections use it ({@link #closes()}): one executor, not one per call. */
    private final Executor closeThreads = this::onCloseThreads;
    static final int CLOSE_THREADS = 2;
    final Map<SanServiceProvider, BoundProvider> providers = new ConcurrentHashMap<>();
    /**
     * Every provider started, also withdrawn ones until their last socket is gone (statistics); then
     * it leaves (BoundProvider's onGone), so that no retired bundle revision stays reachable from here.
     */
    final Set<BoundProvider> known = ConcurrentHashMap.newKeySet();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    final Set<ListenerSocket> listeners = ConcurrentHashMap.newKeySet();
    /** Listening over the providers (docs/rules.md SW-subnet, SW-join). */
    private final SwitchListeners listening = new SwitchListeners(this);
    /** The connector's dials at a move (docs/rules.md SW-migrate-connector-dials, SW-migrate-back). */
    private final ResumeDials dials = new ResumeDials(this);
    private final AtomicLong registrations = new AtomicLong();
    private final AtomicLong eventsAfterRetirement = new AtomicLong();
    private final Map<ProviderChoice.Reason, AtomicLong> connects = new EnumMap<>(ProviderChoice.Reason.class);
    private final FailureMemory failures = new FailureMemory(System::nanoTime);
    /** docs/migration.md section 4: the sessions parked by a move, waiting for their connector's dial. */
    private final ParkedSessions parked = new ParkedSessions(this::liveSession);
    private final SharedBuffers copyBuffers = SharedBuffers.copies();
    private final SharedBuffers batchBuffers = SharedBuffers.batches();
    /** The resume port and the RDMA resume port (docs/rules.md SW-migrate-port, SW-migrate-back). */
    private final ResumePorts resumePorts = new ResumePorts(this, parked);

    /**
     * Declarative Services: the configuration of PID {@value #PID}, read raw so that a bad value is
     * logged and replaced by its default instead of failing the activation.
     */
    @Activate
    public Switch(Map<String, Object> properties) {
        this(ConfiguredSettings.read(properties, SwitchSettings.defaults(), LOG::warn));
    }

    /** A switch outside OSGi (tests, embedding); bind providers with {@link #bindProvider}. */
    public Switch(SwitchSettings settings) {
        this(ConfiguredSettings.given(settings));
    }

    private Switch(ConfiguredSettings configured) {
        SwitchSettings settings = configured.settings();
        this.configured = configured;
        this.settings = settings;
        for (ProviderChoice.Reason r : ProviderChoice.Reason.values()) {
            connects.put(r, new AtomicLong());
        }
        io = new ThreadPoolExecutor(settings.ioThreads(), settings.ioThreads(), 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), threads("sanswitch-switch-io-"));
        timer = new ScheduledThreadPoolExecutor(1, threads("sanswitch-switch-timer-"));
        closes = new ThreadPoolExecutor(CLOSE_THREADS, CLOSE_THREADS, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), threads("sanswitch-switch-close-"));
        timer.setRemoveOnCancelPolicy(true);
        LOG.info("switch active: SAN subnets {}, RDMA port offset {}, connect timeout {} ms, failure memory {} s",
                settings.sanSubnets(), settings.rdmaPortOffset(), settings.connectTimeout().toMillis(),
                settings.rdmaFailureMemory().toSeconds());
        resumePortFollowsSettings();
    }

    /** Threads made by the switch's pools: deactivate waits until each has ended, not only its pool. */
    private final java.util.Set<Thread> ownThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            ownThreads.add(t);
            return t;
        };
    }

    /** A new configuration; a bad value is logged and the running one kept. Never throws to SCR. */
    @Modified
    void modified(Map<String, Object> properties) {
        SwitchSettings running = settings;
        ConfiguredSettings read = ConfiguredSettings.read(properties, running, LOG::warn);
        SwitchSettings next = read.settings();
        if (next.ioThreads() != running.ioThreads()) {
            LOG.info("{}: ioThreads {} takes effect when the switch is activated again; {} run now", PID,
                    next.ioThreads(), running.ioThreads());
            next = new SwitchSettings(next.sanSubnets(), next.rdmaFailureMemory(), next.connectTimeout(),
                    next.rdmaThresholdBytes(), next.rdmaPortOffset(), next.forceWriteFlow(), next.rdmaTransport(),
                    next.tcpTransport(), running.ioThreads(), next.closeTimeout(), next.migration());
            Map<String, String> sources = new HashMap<>(read.sources());
            sources.put("ioThreads", "running since activation; " + read.settings().ioThreads()
                    + " from " + PID + " takes effect at the next activation");
            read = new ConfiguredSettings(next, sources);
        }
        configured = new ConfiguredSettings(next, read.sources());
        settings = next;
        LOG.info("switch reconfigured: SAN subnets {}, RDMA port offset {}", next.sanSubnets(), next.rdmaPortOffset());
        resumePortFollowsSettings();
    }

    /**
     * The RDMA resume port a moved session's RETURN announces (docs/migration.md section 6); 0 while
     * none listens over a running RDMA provider.
     */
    @Override
    public int returnPort() {
        return resumePorts.returnPort();
    }

    /** Whether an RDMA provider runs here for a move back. */
    @Override
    public boolean rdmaUp() {
        return rdmaProvider() != null;
    }

    /** The port of the resume port, for the SESSION frame (docs/migration.md section 2); 0 when none is open. */
    @Override
    public int resumePort() {
        return resumePorts.resumePort();
    }

    /** Opens and closes the resume ports as the settings, the switch's activity and the providers say. */
    private void resumePortFollowsSettings() {
        resumePorts.resumePortFollowsSettings();
    }

    /**
     * How long a withdrawal waits for the moves of its sessions before the provider's cleanup
     * (docs/rules.md SW-migrate-early): a move takes milliseconds; a peer that does not answer, or a
     * machine under load, must not hold a bundle stop up for long.
     */
    static final Duration MOVE_NOTICE_WAIT = Duration.ofMillis(100);

    /** docs/rules.md SW-migrate-connector-dials: see {@link ResumeDials#dialResume}. */
    @Override
    public CompletableFuture<ResumeDial.Resumed> dialResume(InetSocketAddress at, SessionId id, SessionKey key, long received) {
        return dials.dialResume(at, id, key, received);
    }

    /** docs/rules.md SW-migrate-back: see {@link ResumeDials#dialBack}. */
    @Override
    public CompletableFuture<ResumeDial.Resumed> dialBack(InetSocketAddress rdmaAt, InetSocketAddress tcpAt, SessionId id,
            SessionKey key, long received, ResumeDial ahead) {
        return dials.dialBack(rdmaAt, tcpAt, id, key, received, ahead);
    }

    @Override
    public CompletableFuture<ResumeDial.Resumed> parkSession(SessionId id, SessionKey key, long received) {
        CompletableFuture<ResumeDial.Resumed> f = parked.park(id, key, received);
        Duration timeout = settings().migration().resumeTimeout();
        Future<?> timer = schedule(() -> parked.giveUp(id, "no resume within " + timeout.toMillis() + " ms"), timeout);
        f.whenComplete((r, e) -> timer.cancel(false));
        return f;
    }

    /**
     * docs/rules.md SW-migrate-proof: session {@code id} if it still runs on a connection this switch
     * accepted (its peer moved it, this side has not noticed yet): its key, and what makes it park.
     * Any thread; a scan of the open connections, made only for a dial whose session is not parked.
     */
    private SessionDirectory.Parked liveSession(SessionId id) {
        for (Connection c : connections) {
            SessionIdentity si = c.session();
            if (si != null && java.util.Arrays.equals(si.id(), id.bytes()) && c.accepted()) {
                return new SessionDirectory.Parked(SessionKey.derive(si.peerSecret(), id, si.ownSecret()), 0,
                        () -> c.later(c::peerResumes));
            }
        }
        return null;
    }

    /** Where the resume port looks sessions up (the move's parked sessions); takes effect at its next opening. */
    void sessions(SessionDirectory directory) {
        resumePorts.sessions(directory);
    }

    /**
     * Stops the switch: listeners closed, connections aborted, the pool drained, then every provider's
     * startup matched by a cleanup.
     */
    @Deactivate
    public void deactivate() {
        active = false;
        resumePortFollowsSettings();
        for (ListenerSocket l : new ArrayList<>(listeners)) {
            l.close();
        }
        for (Connection c : new ArrayList<>(connections)) {
            c.abort();
        }
        io.shutdown();
        timer.shutdownNow();
        try {
            if (!io.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("switch threads still busy 5 s after the switch stopped; interrupting them");
                io.shutdownNow();
            }
            // After the connections' last tasks, which queued their closes; a close still waiting
            // for its peer then is left to the providers' cleanup below, which resets the socket.
            closes.shutdown();
            if (!closes.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("provider closes still running 5 s after the switch stopped; interrupting them");
                closes.shutdownNow();
            }
            // A stopped switch leaves no thread behind (its bundle may be updated next): a pool is
            // terminated when its workers have left their loop, a moment before their threads end.
            for (Thread t : ownThreads) {
                if (t == Thread.currentThread()) {
                    continue;
                }
                t.join(TimeUnit.SECONDS.toMillis(5));
                if (t.isAlive()) {
                    LOG.warn("switch thread {} still running 5 s after the switch stopped", t.getName());
                }
            }
            ownThreads.clear();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            io.shutdownNow();
            closes.shutdownNow();
        }
        for (SanServiceProvider p : new ArrayList<>(providers.keySet())) {
            unbindProvider(p);
        }
        LOG.info("switch stopped");
    }

    // ------------------------------------------------------------------ providers (docs/architecture.md, lifecycle)

    /**
     * A provider appeared: start it with this switch's upcall table, learn what it can do, let the
     * open listeners listen on it too (docs/rules.md SW-join), then offer it to new connections.
     */
    @Reference(service = SanServiceProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindProvider", updated = "updatedProvider")
    public void bindProvider(SanServiceProvider spi, Map<String, Object> properties) {
        if (!active || spi == null) {
            return;
        }
        String name = String.valueOf(properties == null ? null : properties.get(TransportProperties.TRANSPORT));
        BoundProvider p = new BoundProvider(spi, name, publishedSubnets(properties), eventsAfterRetirement,
                known::remove);
        try {
            spi.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, p);
        } catch (WsaException e) {
            LOG.warn("provider {} could not be started: {}", name, e.getMessage());
            return;
        }
        try {
            p.capabilities(probe(spi));
        } catch (WsaException e) {
            LOG.warn("provider {} answered no capabilities ({}); not used", name, e.getMessage());
            cleanupQuietly(p);
            return;
        }
        known.add(p);
        for (ListenerSocket l : listeners) {
            listening.join(l, p);
        }
        providers.put(spi, p);
        LOG.info("provider {} started for the switch: {}", name, p.capabilities());
        resumePortFollowsSettings();
        if (p.rdma()) {
            // docs/rules.md SW-migrate-back: moved sessions may come back now (the acceptor tells its
            // connectors where; a connector that knows goes).
            for (Connection c : connections) {
                c.later(() -> {
                    int port = returnPort();
                    if (port != 0) {
                        c.announceReturn(port);
                    }
                    c.maybeReturn();
                });
            }
        }
    }

    /**
     * A provider is withdrawn (its bundle stops: the core's final cleanup of it follows at once on this
     * thread). From here on no new connection picks it, connects in progress on it go to TCP, and
     * its FD_* events are counted as violations. Then this switch's startup is matched.
     */
    public void unbindProvider(SanServiceProvider spi) {
        BoundProvider p = providers.remove(spi);
        if (p == null) {
            return;
        }
        p.retire();
        // docs/rules.md SW-own-sockets: the final cleanup's count of sockets reset has the switch's own among them.
        LOG.info("provider {} withdrawn from the switch: {} sockets open on it, {} of them the switch's own (its resume port)",
                p.name, p.liveSockets(), p.switchSockets());
        tellMoves();
        if (p.rdma() && rdmaProvider() == null) {
            // docs/rules.md SW-migrate-back: no connector tries to come back to a port that does not listen.
            for (Connection c : connections) {
                c.later(() -> c.announceReturn(0));
            }
        }
        cleanupQuietly(p);
    }

    public void updatedProvider(SanServiceProvider spi, Map<String, Object> properties) {
        BoundProvider p = providers.get(spi);
        if (p != null) {
            p.subnets(publishedSubnets(properties));
        }
    }

    /**
     * docs/rules.md SW-migrate-early: the sessions on a withdrawn provider begin their move now, each
     * sending MOVE to its peer; the cleanup waits until they resumed, at most {@link #MOVE_NOTICE_WAIT},
     * so that its resets (a forced close may drop a MOVE not yet delivered) do not overtake them. On
     * the thread that withdraws the provider.
     */
    private void tellMoves() {
        if (!settings().migration().migrate()) {
            return;
        }
        List<CompletableFuture<Void>> told = new ArrayList<>();
        for (Connection c : connections) {
            CompletableFuture<Void> t = new CompletableFuture<>();
            told.add(t);
            c.later(() -> c.providerWithdrawn(t));
        }
        try {
            CompletableFuture.allOf(told.toArray(CompletableFuture[]::new)).get(MOVE_NOTICE_WAIT.toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.info("{} of {} connections had not resumed their move after {} ms; the cleanup goes on",
                    told.stream().filter(t -> !t.isDone()).count(), told.size(), MOVE_NOTICE_WAIT.toMillis());
        } catch (ExecutionException e) {
            LOG.warn("telling the peers of the move failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void cleanupQuietly(BoundProvider p) {
        try {
            p.spi.cleanup();
        } catch (WsaException e) {
            // WSANOTINITIALISED: the core already ran its final cleanup (bundle stop, whatever the count).
            LOG.debug("cleanup of {}: {}", p.name, e.error());
        } finally {
            p.cleanedUp();
        }
    }

    /** docs/rules.md SW-start: a helper socket for the extension lookup and the RDMA options. */
    private static BoundProvider.Capabilities probe(SanServiceProvider spi) throws WsaException {
        SocketHandle h = spi.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        try {
            boolean rdma = has(spi, h, SanExtension.RDMA_WRITE) && has(spi, h, SanExtension.REGISTER_RDMA_MEMORY);
            boolean read = rdma && has(spi, h, SanExtension.RDMA_READ);
            int threshold = rdma ? spi.getSockOpt(h, Winsock.SOL_SOCKET, Winsock.SO_RDMA_THRESHOLD_SIZE) : 0;
            long max = rdma ? spi.getSockOpt(h, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE) : 0;
            return new BoundProvider.Capabilities(rdma, read, threshold, max, maxMessageSize(spi, h));
        } finally {
            try {
                spi.closeSocket(h);
            } catch (WsaException e) {
                LOG.debug("closing the helper socket: {}", e.error());
            }
        }
    }

    /**
     * SO_MAX_MSG_SIZE; a provider that does not answer is taken to allow one registered send buffer,
     * as much as the switch ever sent in one send before it sent from application buffers.
     */
    private static int maxMessageSize(SanServiceProvider spi, SocketHandle h) {
        try {
            int max = spi.getSockOpt(h, Winsock.SOL_SOCKET, Winsock.SO_MAX_MSG_SIZE);
            return max > 0 ? max : Connection.BUFFER_BYTES;
        } catch (WsaException e) {
            LOG.debug("SO_MAX_MSG_SIZE: {}", e.error());
            return Connection.BUFFER_BYTES;
        }
    }

    private static boolean has(SanServiceProvider spi, SocketHandle h, SanExtension e) throws WsaException {
        try {
            spi.getExtensionFunction(h, e.guid());
            return true;
        } catch (WsaException ex) {
            if (ex.error() == WsaError.WSAEOPNOTSUPP) {
                return false;
            }
            throw ex;
        }
    }

    private static List<Cidr> publishedSubnets(Map<String, Object> properties) {
        String who = "provider " + (properties == null ? null : properties.get(TransportProperties.TRANSPORT));
        ConfigReader r = new ConfigReader(who, properties, LOG::warn);
        return Cidr.parseAll(r.list(TransportProperties.SAN_SUBNETS, SwitchSettings.MAX_SUBNETS),
                why -> r.leaveOut(TransportProperties.SAN_SUBNETS, why));
    }

    /** The running provider of that transport name (the first bound if several), or {@code null}. */
    BoundProvider providerNamed(String name) {
        for (BoundProvider p : providers.values()) {
            if (p.name.equals(name) && !p.isRetired()) {
                return p;
            }
        }
        return null;
    }

    /** The running RDMA provider for new connections (the preferred one if several), or {@code null}. */
    BoundProvider rdmaProvider() {
        return pick(true, settings.rdmaTransport());
    }

    /** The running provider without RDMA for new connections (the preferred one if several), or {@code null}. */
    BoundProvider tcpProvider() {
        return pick(false, settings.tcpTransport());
    }

    private BoundProvider pick(boolean rdma, String preferred) {
        BoundProvider any = null;
        for (BoundProvider p : providers.values()) {
            if (p.rdma() == rdma && !p.isRetired()) {
                if (p.name.equals(preferred)) {
                    return p;
                }
                any = any == null ? p : any;
            }
        }
        return any;
    }

    /** docs/rules.md SW-subnet: the peer's address is on a SAN subnet (the switch's own list, or the RDMA provider's). */
    boolean onSanSubnet(InetAddress address, BoundProvider rdma) {
        for (Cidr c : settings.sanSubnets()) {
            if (c.contains(address)) {
                return true;
            }
        }
        return rdma != null && rdma.publishesSubnetOf(address);
    }

    FailureMemory failures() {
        return failures;
    }

    /** What a connect to {@code remote} would do now: the rule the connect runs ({@link Connector}). */
    Route.Decision<BoundProvider> route(InetSocketAddress remote) {
        BoundProvider rdma = rdmaProvider();
        return Route.decide(remote, settings.rdmaPortOffset(), rdma, tcpProvider(),
                onSanSubnet(remote.getAddress(), rdma), rdma == null ? null : failures.recall(remote.getAddress()));
    }

    // ------------------------------------------------------------------ application API

    @Override
    public SwitchSocket connect(InetSocketAddress remote) throws WsaException {
        return connect(remote, null);
    }

    @Override
    public SwitchSocket connect(InetSocketAddress remote, String provider) throws WsaException {
        return connect(remote, provider, null);
    }

    @Override
    public SwitchSocket connect(InetSocketAddress remote, String provider, SocketSetup setup) throws WsaException {
        CompletableFuture<SwitchSocket> f = connectAsync(remote, provider, setup).toCompletableFuture();
        // Bounded: an RDMA attempt and a TCP attempt, each with its timeout, plus slack.
        long bound = 2 * settings.connectTimeout().toMillis() + 5_000;
        try {
            return f.get(bound, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(false);
            throw new WsaException(WSAEINTR, "interrupted while connecting to " + remote);
        } catch (TimeoutException e) {
            throw new WsaException(WSAETIMEDOUT, "no outcome of the connect to " + remote + " in " + bound + " ms");
        } catch (ExecutionException e) {
            throw BlockingCalls.failureOf(e, "connect to " + remote);
        }
    }

    @Override
    public CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote) {
        return connectAsync(remote, null);
    }

    @Override
    public CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote, String provider) {
        return connectAsync(remote, provider, null);
    }

    @Override
    public CompletionStage<SwitchSocket> connectAsync(InetSocketAddress remote, String provider, SocketSetup setup) {
        return connectAsync(remote, provider, setup, false);
    }

    /** A resume socket's connect, pinned to {@code provider}: it never migrates itself (docs/migration.md section 6). */
    @Override
    public CompletableFuture<ResumeDial> connectBack(InetSocketAddress rdmaAt, SessionId id, SessionKey key) {
        BoundProvider over = rdmaProvider();
        return over == null ? CompletableFuture.failedFuture(new WsaException(WSAENETDOWN, "no RDMA provider runs"))
                : connectForResume(rdmaAt, over.name).thenApply(s -> ResumeDial.ahead(this, s, rdmaAt, id, key));
    }

    CompletableFuture<SwitchSocket> connectForResume(InetSocketAddress remote, String provider) {
        return connectAsync(remote, provider, null, true);
    }

    private CompletableFuture<SwitchSocket> connectAsync(InetSocketAddress remote, String provider, SocketSetup setup,
            boolean resumeSocket) {
        CompletableFuture<SwitchSocket> result = new CompletableFuture<>();
        // A copy: the application may change its setup once the call returned (docs/rules.md SW-replay).
        SocketSetup own = setup == null ? new SocketSetup() : new SocketSetup(setup);
        InetSocketAddress local = own.localAddress();
        if (remote == null || remote.isUnresolved() || remote.getAddress().isAnyLocalAddress()) {
            result.completeExceptionally(new WsaException(WSAEFAULT, "not a resolved peer address: " + remote));
        } else if (local != null && local.getAddress().getClass() != remote.getAddress().getClass()) {
            result.completeExceptionally(new WsaException(WSAEINVAL, "the local address " + local
                    + " is not of the peer " + remote + "'s address family"));
        } else if (!active) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "the switch is stopped"));
        } else {
            Connector c = new Connector(this, remote, provider, own, result);
            (resumeSocket ? c.resumeSocket() : c).begin();
        }
        return result;
    }

    @Override
    public SwitchServerSocket listen(InetSocketAddress local, int backlog) throws WsaException {
        return listen(local, backlog, null);
    }

    @Override
    public SwitchServerSocket listen(InetSocketAddress local, int backlog, String provider) throws WsaException {
        return listening.listen(local, backlog, provider, false);
    }

    /** A resume port's listener, pinned to {@code provider}: its connections never migrate themselves (docs/migration.md section 6). */
    SwitchServerSocket listenForResumes(InetSocketAddress local, int backlog, String provider) throws WsaException {
        return listening.listen(local, backlog, provider, true);
    }

    @Override
    public List<String> providers() {
        List<String> names = new ArrayList<>();
        for (BoundProvider p : providers.values()) {
            names.add(p.name);
        }
        return names;
    }

    /**
     * docs/rules.md SW-own-sockets: the application's listeners and the switch's own resume ports apart
     * ({@code listeners} counts the application's only); the provider sockets and the connections all
     * together, as the leak figures compare them, and the switch's own among them apart.
     */
    @Override
    public SwitchStatistics statistics() {
        Map<String, Integer> sockets = new HashMap<>();
        Map<String, Integer> own = new HashMap<>();
        for (BoundProvider p : known) {
            int live = p.liveSockets();
            if (p.isRetired() && live == 0) {
                known.remove(p);
            }
            sockets.merge(p.name, live, Integer::sum);
            int mine = p.switchSockets();
            if (mine > 0) {
                own.merge(p.name, mine, Integer::sum);
            }
        }
        int applications = 0;
        for (ListenerSocket l : listeners) {
            if (!l.switchOwn()) {
                applications++;
            }
        }
        Map<String, Long> byReason = new HashMap<>();
        connects.forEach((r, n) -> byReason.put(r.name(), n.get()));
        int all = 0;
        int resumeSockets = 0;
        for (Connection c : connections) {
            all++;
            if (c.carriesSession()) {
                resumeSockets++;
            }
        }
        return new SwitchStatistics(all, applications, sockets, registrations.get(),
                eventsAfterRetirement.get(), byReason, own, resumePortsByProvider(), resumeSockets);
    }

    /**
     * The switch's resume ports listening now (docs/migration.md sections 3 and 6), by the provider each
     * listens over, at the port SESSION or RETURN announces (an RDMA one listens at it plus
     * {@code rdmaPortOffset}); none while {@code migrate} is off.
     */
    Map<String, Integer> resumePortsByProvider() {
        Map<String, Integer> ports = new TreeMap<>();
        for (SwitchView.OwnPort p : resumePortsListening()) {
            ports.put(p.provider(), p.port());
        }
        return ports;
    }

    /** {@code san:switch}: the resume ports listening now, where each listens and what for (docs/rules.md SW-own-sockets). */
    @Override
    public List<SwitchView.OwnPort> resumePortsListening() {
        return resumePorts.listening();
    }

    @Override
    public Map<String, Integer> ownSockets() {
        return statistics().switchSockets();
    }

    /**
     * Sessions parked by a move and waiting for their connector's dial (docs/migration.md section 4);
     * none once each resumed or was given up (docs/rules.md SW-migrate-death). Any thread.
     */
    public int parkedSessions() {
        return parked.size();
    }

    /**
     * Bytes the open connections keep of what they sent and the peer has not acknowledged yet
     * (docs/migration.md section 5); 0 on a switch that does not migrate. Any thread.
     */
    public long retainedBytes() {
        long sum = 0;
        for (Connection c : connections) {
            sum += c.retained();
        }
        return sum;
    }

    /**
     * {@link SocketReasons} for {@code san:sockets}: why a provider socket of this switch is on its
     * provider (the connection's {@link ProviderChoice}, or the listener it belongs to); {@code null}
     * for a socket the switch does not know.
     */
    @Override
    public String reasonFor(String provider, long switchHandle) {
        String found = null;
        for (BoundProvider p : known) {
            if (p.name.equals(provider)) {
                String r = p.reasonOf(switchHandle);
                if (r != null && (found == null || !p.isRetired())) {
                    found = r;
                }
            }
        }
        return found;
    }

    // ------------------------------------------------------------------ san:switch, san:route

    @Override
    public List<SwitchView.Setting> settingsInForce() {
        return SwitchReport.settings(configured, rdmaProvider());
    }

    @Override
    public List<SwitchView.Provider> providersBound() {
        return SwitchReport.providers(new ArrayList<>(providers.values()), rdmaProvider(), tcpProvider(), settings);
    }

    @Override
    public SwitchView.RouteAnswer routeTo(InetSocketAddress peer) {
        return SwitchReport.route(peer, route(peer), settings);
    }

    /**
     * What {@code san:sockets} shows for a connection: the first choice's reason and its detail, then
     * each move (docs/rules.md SW-migrate-visible); a connection that never moved reads as its choice.
     */
    static String describe(List<ProviderChoice> history, InetSocketAddress local, InetSocketAddress remote) {
        return describe(history, 0, local, remote);
    }

    /**
     * The same for a bounded history ({@link ProviderHistory}): {@code leftOut} moves between the first
     * choice and the first move listed are no longer kept, and say so in their place:
     * {@code SAN_SUBNET: ...; … 3,980 earlier moves …; moved ucx -> tcp (...); ...}.
     */
    static String describe(List<ProviderChoice> history, long leftOut, InetSocketAddress local, InetSocketAddress remote) {
        StringBuilder b = new StringBuilder(describe(history.get(0), local, remote));
        if (leftOut > 0) {
            b.append("; \u2026 ").append(String.format(Locale.ROOT, "%,d", leftOut))
                    .append(leftOut == 1 ? " earlier move \u2026" : " earlier moves \u2026");
        }
        for (ProviderChoice c : history.subList(1, history.size())) {
            b.append("; ").append(moved(c));
        }
        return b.toString();
    }

    /** One move in words: {@code moved ucx -> tcp (provider withdrawn, paused 12 ms)}. */
    static String moved(ProviderChoice c) {
        ProviderMove m = c.move();
        String cause = switch (m.cause()) {
            case PROVIDER_WITHDRAWN -> "provider withdrawn";
            case CONNECTION_FAILED -> "connection failed" + (c.rdmaError() != null ? ": " + c.rdmaError() : "");
            case PROVIDER_RETURNED -> "provider returned";
        };
        return "moved " + m.from() + " -> " + c.provider() + " (" + cause + ", paused " + m.pause().toMillis() + " ms)";
    }

    /** What {@code san:sockets} shows for a connection: the choice's reason and its detail. */
    static String describe(ProviderChoice c, InetSocketAddress local, InetSocketAddress remote) {
        String peer = remote == null || remote.getAddress() == null ? "?" : remote.getAddress().getHostAddress();
        String detail = switch (c.reason()) {
            case SAN_SUBNET -> "peer " + peer + " on a SAN subnet";
            case NOT_ON_SAN_SUBNET -> "peer " + peer + " on no SAN subnet";
            case RDMA_PROVIDER_DOWN -> "no RDMA provider running";
            case FELL_BACK -> "the RDMA connect failed with " + c.rdmaError();
            case SETUP_REFUSED -> "the RDMA provider refused the application's bind or options with " + c.rdmaError();
            case RECENT_RDMA_FAILURE -> "RDMA failed recently for this peer: " + c.rdmaError();
            case ACCEPTED -> "accepted on port " + (local == null ? "?" : local.getPort());
            case PINNED -> "the application asked for " + c.provider();
            case MOVED -> moved(c);
        };
        return c.reason() + ": " + detail;
    }

    // ------------------------------------------------------------------ for connections and listeners

    @Override
    public SharedBuffers copyBuffers() {
        return copyBuffers;
    }

    @Override
    public SharedBuffers batchBuffers() {
        return batchBuffers;
    }

    @Override
    public SerialQueue newQueue(String name) {
        return new SerialQueue(io, name);
    }

    @Override
    public Executor closes() {
        return closeThreads;
    }

    private void onCloseThreads(Runnable task) {
        try {
            closes.execute(task);
        } catch (RejectedExecutionException stopped) {
            // The switch stopped: deactivate shut this pool after the io pool, no io thread is held here.
            task.run();
        }
    }

    @Override
    public Future<?> schedule(Runnable task, Duration delay) {
        try {
            return timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException stopped) {
            return CompletableFuture.completedFuture(null);
        }
    }

    @Override
    public SwitchSettings settings() {
        return settings;
    }

    @Override
    public void registrations(long delta) {
        registrations.addAndGet(delta);
    }

    @Override
    public void opened(Connection c) {
        connections.add(c);
        if (!active) {
            c.abort();
        }
    }

    @Override
    public void moved(Connection c) {
        counted(ProviderChoice.Reason.MOVED);
    }

    @Override
    public void ended(Connection c) {
        connections.remove(c);
    }

    void listenerClosed(ListenerSocket l) {
        listeners.remove(l);
    }

    void counted(ProviderChoice.Reason reason) {
        connects.get(reason).incrementAndGet();
    }

    /**
     * Closes a provider socket on the close threads (docs/rules.md SW-close-off-io); not on a withdrawn
     * provider, whose final cleanup resets it anyway.
     */
    void closeQuietly(BoundProvider p, SocketHandle h) {
        closes().execute(() -> {
            if (p.isRetired()) {
                return;
            }
            try {
                p.spi.closeSocket(h);
            } catch (WsaException e) {
                LOG.trace("closeSocket on {}: {}", p.name, e.error());
            }
        });
    }

    @Override
    public String toString() {
        return "Switch" + providers();
    }
}
