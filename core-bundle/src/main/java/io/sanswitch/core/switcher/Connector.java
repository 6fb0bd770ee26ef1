package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAENETDOWN;
import static io.sanswitch.spi.WsaError.WSAETIMEDOUT;
import static io.sanswitch.spi.WsaError.WSANOTINITIALISED;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.SocketSetup;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One application connect (docs/rules.md SW-subnet, SW-certain): over the RDMA provider when {@link Route#decide} says so,
 * falling back to TCP for the codes that allow it, else over TCP directly. Each provider connect is
 * event-selected and nonblocking; its outcome arrives as FD_CONNECT, the switch's timeout, the
 * provider closing the socket, or the provider being withdrawn (its bundle stopping), all as tasks on
 * this connect's own queue. Before each provider connect the application's bind and options are replayed on the
 * new provider socket (docs/rules.md SW-replay); an RDMA provider that refuses them sends the connect to TCP.
 */
final class Connector {
    private static final Logger LOG = LoggerFactory.getLogger(Connector.class);

    private final Switch sw;
    private final InetSocketAddress remote;
    private final CompletableFuture<SwitchSocket> result;
    /** The provider the application named, or {@code null} for the switch's own choice. */
    private final String pinned;
    /** The application's bind and options, a copy taken at the call; replayed on every provider socket. */
    private final SocketSetup setup;
    private final SerialQueue queue;
    /** A resume socket of the switch's own (docs/migration.md section 6): its connection never migrates itself. */
    private boolean resumeSocket;

    // Queue only.
    private int attempt;
    private boolean attemptOver;
    private boolean overRdma;
    private BoundProvider provider;
    private SocketHandle handle;
    private SwitchEvent event;
    private Future<?> timeout;
    private Runnable onWithdrawal;
    private Reason tcpReason;
    private WsaError rdmaError;

    Connector(Switch sw, InetSocketAddress remote, String pinned, SocketSetup setup,
            CompletableFuture<SwitchSocket> result) {
        this.sw = sw;
        this.remote = remote;
        this.pinned = pinned;
        this.setup = setup;
        this.result = result;
        this.queue = sw.newQueue("connect " + remote);
    }

    void begin() {
        queue.execute(this::decide);
    }

    /** Makes the connection a resume socket of the switch's own; before {@link #begin}. */
    Connector resumeSocket() {
        resumeSocket = true;
        return this;
    }

    private void decide() {
        if (pinned != null) {
            overPinned();
            return;
        }
        Route.Decision<BoundProvider> d = sw.route(remote);
        if (d.rdma()) {
            start(d.provider(), d.target(), true);
        } else if (d.provider() == null) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "no TCP provider is running to reach " + remote));
        } else {
            tcpReason = d.reason();
            rdmaError = d.remembered() == null ? null : d.remembered().error();
            start(d.provider(), d.target(), false);
        }
    }

    /** The application named the provider: that one only, at the RDMA port where it is one (no fallback). */
    private void overPinned() {
        BoundProvider p = sw.providerNamed(pinned);
        if (p == null) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "no provider '" + pinned + "' is running to reach "
                    + remote + "; running: " + sw.providers()));
            return;
        }
        if (!p.rdma()) {
            start(p, remote, false);
            return;
        }
        int port = remote.getPort() + sw.settings().rdmaPortOffset();
        if (port > 0xFFFF) {
            result.completeExceptionally(new WsaException(WsaError.WSAEADDRNOTAVAIL, "port " + remote.getPort()
                    + " + rdmaPortOffset " + sw.settings().rdmaPortOffset() + " is out of range for " + pinned));
            return;
        }
        start(p, new InetSocketAddress(remote.getAddress(), port), true);
    }

    private void overTcp(Reason reason, WsaError rdmaFailure) {
        BoundProvider tcp = sw.tcpProvider();
        if (tcp == null) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "no TCP provider is running to reach " + remote));
            return;
        }
        tcpReason = reason;
        rdmaError = rdmaFailure;
        start(tcp, remote, false);
    }

    private void start(BoundProvider p, InetSocketAddress target, boolean rdma) {
        int current = ++attempt;
        attemptOver = false;
        provider = p;
        overRdma = rdma;
        handle = null;
        try {
            handle = p.spi.socket(target.getAddress() instanceof Inet6Address ? Winsock.AF_INET6 : Winsock.AF_INET,
                    Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        } catch (WsaException e) {
            failed(current, e.error());
            return;
        }
        try {
            SocketOptions.replay(p.spi, handle, setup, p.name);
        } catch (WsaException e) {
            setupRefused(e);
            return;
        }
        onWithdrawal = () -> queue.execute(() -> failed(current, WSANOTINITIALISED));
        p.onRetire(onWithdrawal);
        BoundProvider.Slot slot = p.slotOf(handle);
        if (slot != null) {
            slot.whenClosed(() -> queue.execute(() -> failed(current, WSANOTINITIALISED)));
        }
        event = new SwitchEvent(queue, () -> check(current));
        timeout = sw.schedule(() -> queue.execute(() -> failed(current, WSAETIMEDOUT)), sw.settings().connectTimeout());
        try {
            p.spi.eventSelect(handle, event, NetworkEvents.FD_CONNECT);
            if (p.spi.connect(handle, target, null) == ConnectStatus.CONNECTED) {
                succeeded(current);
            }
        } catch (WsaException e) {
            failed(current, e.error());
        }
    }

    /** FD_CONNECT was signalled (docs/rules.md EV-connect). */
    private void check(int which) {
        if (which != attempt || attemptOver) {
            return;
        }
        try {
            NetworkEventRecord r = provider.spi.enumNetworkEvents(handle, event);
            if (!r.has(NetworkEvents.FD_CONNECT)) {
                return;
            }
            WsaError e = r.errorFor(NetworkEvents.FD_CONNECT_BIT);
            if (e == null) {
                succeeded(which);
            } else {
                failed(which, e);
            }
        } catch (WsaException e) {
            failed(which, e.error());
        }
    }

    private boolean end(int which) {
        if (which != attempt || attemptOver) {
            return false;
        }
        attemptOver = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (onWithdrawal != null) {
            provider.noLongerOnRetire(onWithdrawal);
        }
        return true;
    }

    private void succeeded(int which) {
        if (!end(which)) {
            return;
        }
        try {
            provider.spi.eventSelect(handle, null, 0);
        } catch (WsaException e) {
            LOG.trace("eventSelect(0) on a connected socket: {}", e.error());
        }
        ProviderChoice choice = pinned != null ? new ProviderChoice(provider.name, Reason.PINNED, null)
                : overRdma ? new ProviderChoice(provider.name, Reason.SAN_SUBNET, null)
                : new ProviderChoice(provider.name, tcpReason, rdmaError);
        // The SPI has no getsockname (docs/rules.md BG-not-required): the local side is what the application
        // bound (its port 0 stays 0), else known only as "any".
        InetSocketAddress local = setup.localAddress() != null ? setup.localAddress() : new InetSocketAddress(0);
        Connection c = new Connection(sw, provider, handle, choice, local, remote, resumeSocket);
        CompletableFuture<SwitchSocket> ready = new CompletableFuture<>();
        BoundProvider used = provider;
        boolean rdma = overRdma;
        ready.whenComplete((s, failure) -> {
            if (failure != null) {
                queue.execute(() -> notStarted(used, rdma, failure));
            } else {
                sw.counted(choice.reason());
                LOG.debug("connected to {} over {}", remote, choice);
                result.complete(s);
            }
        });
        c.start(ready);
    }

    /**
     * The provider connected but the connection could not be set up (its buffers not registered):
     * before anything was handed to the application, so a withdrawn RDMA provider still means TCP.
     */
    private void notStarted(BoundProvider p, boolean rdma, Throwable failure) {
        WsaError error = failure instanceof WsaException w ? w.error() : WSAENETDOWN;
        boolean providerGone = ProviderGoing.socketGone(error, p.isRetired());
        if (rdma && providerGone && pinned == null) {
            overTcp(Reason.RDMA_PROVIDER_DOWN, null);
        } else if (providerGone) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "the provider " + p.name
                    + " stopped while connecting to " + remote, failure));
        } else {
            result.completeExceptionally(failure);
        }
    }

    /**
     * The provider refused the application's bind or an option before connecting (docs/rules.md SW-replay): nothing was
     * connected, so an unpinned RDMA attempt goes to TCP (not remembered for the peer: the setup failed, not the
     * peer); TCP, or a pinned provider, fails the connect with the provider's code and the step that failed.
     */
    private void setupRefused(WsaException e) {
        attemptOver = true;
        sw.closeQuietly(provider, handle);
        boolean gone = ProviderGoing.refusal(e.error(), provider.isRetired());
        if (overRdma && pinned == null) {
            if (gone) {
                overTcp(Reason.RDMA_PROVIDER_DOWN, null);
            } else {
                LOG.debug("RDMA provider refused the setup for {} ({}); over TCP (docs/rules.md SW-replay)", remote,
                        e.getMessage());
                overTcp(Reason.SETUP_REFUSED, e.error());
            }
            return;
        }
        if (gone && pinned != null) {
            result.completeExceptionally(new WsaException(WSAENETDOWN, "the provider " + provider.name
                    + " stopped while connecting to " + remote, e));
        } else {
            result.completeExceptionally(new WsaException(e.error(), "connect to " + remote + " over " + provider.name
                    + " refused the application's setup: " + e.getMessage(), e));
        }
    }

    private void failed(int which, WsaError error) {
        if (!end(which)) {
            return;
        }
        if (handle != null) {
            sw.closeQuietly(provider, handle); // docs/rules.md SW-connect-once: closing is the only way to cancel a connect
        }
        if (!overRdma || pinned != null) {
            // A pinned connect never falls back; a provider withdrawn under it is "network down".
            boolean gone = ProviderGoing.refusal(error, pinned != null && provider.isRetired());
            WsaError reported = gone ? WSAENETDOWN : error;
            result.completeExceptionally(new WsaException(reported, "connect to " + remote + " over " + provider.name
                    + (pinned != null ? " (pinned)" : tcpReason != null ? " (" + tcpReason + ")" : "") + " failed"
                    + (reported != error ? " with " + error : "")));
            return;
        }
        if (ProviderGoing.refusal(error, provider.isRetired())) {
            LOG.debug("RDMA provider withdrawn while connecting to {}; over TCP", remote);
            overTcp(Reason.RDMA_PROVIDER_DOWN, null);
        } else if (Route.fallsBackToTcp(error)) {
            sw.failures().remember(remote.getAddress(), error, sw.settings().rdmaFailureMemory());
            LOG.debug("RDMA connect to {} failed with {}; falling back to TCP (docs/rules.md SW-certain)", remote, error);
            overTcp(Reason.FELL_BACK, error);
        } else {
            result.completeExceptionally(new WsaException(error, "RDMA connect to " + remote
                    + " failed; docs/rules.md SW-certain allows no fallback to TCP for " + error));
        }
    }
}
