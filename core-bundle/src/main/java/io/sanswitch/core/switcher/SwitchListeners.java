package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAEADDRINUSE;
import static io.sanswitch.spi.WsaError.WSAEFAULT;
import static io.sanswitch.spi.WsaError.WSAEINVAL;
import static io.sanswitch.spi.WsaError.WSAENETDOWN;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The switch's listeners: a listen over every running provider, TCP first (docs/rules.md SW-subnet),
 * a provider that starts later joining the open listeners (SW-join), and the RDMA companion port at
 * the configured offset. Any thread: the listeners and providers are the switch's concurrent sets.
 * It logs as the switch.
 */
final class SwitchListeners {
    private static final Logger LOG = LoggerFactory.getLogger(Switch.class);
    /** The first and the longest pause between tries of a provider to listen at a port in use. */
    private static final Duration JOIN_RETRY_FIRST = Duration.ofMillis(50);
    private static final Duration JOIN_RETRY_MAX = Duration.ofSeconds(2);
    private final Switch sw;

    SwitchListeners(Switch sw) {
        this.sw = sw;
    }

    /**
     * A listener at {@code local} over every running provider, or only {@code provider}; port 0: a free
     * port whose RDMA companion is free too, tried again if it was taken meanwhile.
     *
     * @param resumeSockets the listener's connections are the switch's resume sockets, which never migrate
     */
    SwitchServerSocket listen(InetSocketAddress local, int backlog, String provider, boolean resumeSockets)
            throws WsaException {
        if (local == null || local.isUnresolved()) {
            throw new WsaException(WSAEFAULT, "not a resolved local address: " + local);
        }
        if (backlog < 1) {
            throw new WsaException(WSAEINVAL, "backlog must be at least 1: " + backlog);
        }
        if (!sw.active || sw.providers.isEmpty()) {
            throw new WsaException(WSAENETDOWN, "no provider is running");
        }
        if (provider != null && sw.providerNamed(provider) == null) {
            throw new WsaException(WSAENETDOWN, "no provider '" + provider + "' is running; running: " + sw.providers());
        }
        for (int tries = 1;; tries++) {
            InetSocketAddress at = local.getPort() != 0 ? local : freePort(local.getAddress());
            ListenerSocket l = new ListenerSocket(sw, at, backlog, provider, resumeSockets);
            sw.listeners.add(l);
            try {
                listenEverywhere(l);
                return l;
            } catch (WsaException e) {
                l.close();
                if (local.getPort() == 0 && e.error() == WSAEADDRINUSE && tries < 5) {
                    continue; // the free port was taken meanwhile
                }
                throw e;
            }
        }
    }

    /** TCP first, then the rest; only a TCP failure (or having no TCP) fails the listen (docs/rules.md SW-subnet). */
    private void listenEverywhere(ListenerSocket l) throws WsaException {
        if (l.pinned() != null) {
            BoundProvider p = sw.providerNamed(l.pinned());
            if (p == null) {
                throw new WsaException(WSAENETDOWN, "no provider '" + l.pinned() + "' is running");
            }
            listenOn(l, p);
            if (l.providers().isEmpty()) {
                throw new WsaException(WSAENETDOWN, l.pinned() + " cannot listen on " + l.address());
            }
            return;
        }
        BoundProvider tcp = sw.tcpProvider();
        if (tcp != null) {
            l.listenOn(tcp, l.address());
        }
        WsaException firstFailure = null;
        for (BoundProvider p : sw.providers.values()) {
            if (p == tcp) {
                continue;
            }
            try {
                listenOn(l, p);
            } catch (WsaException e) {
                firstFailure = firstFailure == null ? e : firstFailure;
            }
        }
        if (l.providers().isEmpty()) {
            throw firstFailure != null ? firstFailure : new WsaException(WSAENETDOWN, "no provider can listen on " + l.address());
        }
    }

    /** A provider that started later joins an open listener (docs/rules.md SW-join); its failure is logged. */
    void join(ListenerSocket l, BoundProvider p) {
        join(l, p, null);
    }

    /**
     * One try of {@link #join(ListenerSocket, BoundProvider)}. A port in use is retried (docs/rules.md SW-join):
     * the RDMA listener's port is the TCP port plus the offset, which any socket (an outgoing
     * connection's ephemeral port) may hold for a while when the provider comes back, and giving up
     * would leave the listener off RDMA for good. Retries back off to {@link #JOIN_RETRY_MAX} and end
     * when the listener closes, the provider leaves or listens there.
     */
    private void join(ListenerSocket l, BoundProvider p, Duration retry) {
        if (l.pinned() != null && !l.pinned().equals(p.name)) {
            return;
        }
        // By identity (SW-join): the listener may still list the provider that left, of the same name.
        if (l.isClosed() || p.isRetired() || (retry != null && !sw.known.contains(p)) || l.listensOn(p)) {
            return;
        }
        try {
            listenOn(l, p);
            if (retry != null && l.listensOn(p)) {
                LOG.info("{} listens for {} now that its port is free", p.name, l);
            }
        } catch (WsaException e) {
            if (e.error() != WSAEADDRINUSE) {
                LOG.warn("{} cannot listen for {}: {}", p.name, l, e.getMessage());
                return;
            }
            Duration next = retry == null ? JOIN_RETRY_FIRST
                    : (retry.multipliedBy(2).compareTo(JOIN_RETRY_MAX) > 0 ? JOIN_RETRY_MAX : retry.multipliedBy(2));
            if (retry == null) {
                LOG.warn("{} cannot listen for {}: {}; trying again while the port is in use", p.name, l, e.getMessage());
            }
            sw.schedule(() -> join(l, p, next), next);
        }
    }

    private void listenOn(ListenerSocket l, BoundProvider p) throws WsaException {
        if (l.isClosed()) {
            return;
        }
        InetSocketAddress at = l.address();
        if (!p.rdma()) {
            l.listenOn(p, at);
            return;
        }
        // docs/rules.md SW-subnet: a SAN listener only for SAN (or wildcard) addresses. The RDMA provider's rendezvous
        // takes a TCP port, so it listens beside the TCP listener, at the configured offset.
        if (l.pinned() == null && !at.getAddress().isAnyLocalAddress() && !sw.onSanSubnet(at.getAddress(), p)) {
            return;
        }
        int port = at.getPort() + sw.settings().rdmaPortOffset();
        if (port > 0xFFFF) {
            LOG.warn("no RDMA listener for {}: port {} + offset {} is out of range", at, at.getPort(),
                    sw.settings().rdmaPortOffset());
            return;
        }
        l.listenOn(p, new InetSocketAddress(at.getAddress(), port));
    }

    /** A port free on {@code address} together with its RDMA companion port. */
    private InetSocketAddress freePort(InetAddress address) throws WsaException {
        for (int i = 0; i < 20; i++) {
            int port;
            try (ServerSocket probe = new ServerSocket(0, 1, address)) {
                port = probe.getLocalPort();
            } catch (IOException e) {
                throw new WsaException(WsaError.WSAEADDRNOTAVAIL, "cannot listen on " + address + ": " + e.getMessage(), e);
            }
            int companion = port + sw.settings().rdmaPortOffset();
            if (companion > 0xFFFF) {
                continue;
            }
            try (ServerSocket probe = new ServerSocket(companion, 1, address)) {
                return new InetSocketAddress(address, port);
            } catch (IOException busy) {
                // try another
            }
        }
        throw new WsaException(WSAEADDRINUSE, "no free port pair on " + address);
    }
}
