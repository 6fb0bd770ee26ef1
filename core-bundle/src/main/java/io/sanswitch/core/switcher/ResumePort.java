package io.sanswitch.core.switcher;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The switch's listener for resumes (docs/migration.md section 3): a listener of the switch's own,
 * pinned to the TCP provider (the switch stays a client of the SPI), which speaks only the resume
 * handshake, never the application's bytes (docs/rules.md SW-migrate-port). Bounds (docs/security.md
 * SEC-11): at most {@value #MAX_HANDSHAKES} handshakes at once (one more is reset at once), each reset
 * when it has not ended within {@code resumeTimeoutMillis}, and at most
 * {@link ResumeHandshake#ACCEPTOR_READS} bytes read of each. A session resumed goes to the
 * {@link SessionDirectory} with its socket; everything else is closed and never reaches it. No thread
 * of its own: accepts, reads and timers run on the switch's.
 */
final class ResumePort implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResumePort.class);
    static final int MAX_HANDSHAKES = 64;

    private final Switch sw;
    private final SwitchServerSocket listener;
    private final SessionDirectory directory;
    private final SecureRandom random = new SecureRandom();
    private final SerialQueue timeouts;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean full = new AtomicBoolean();
    private final Set<ResumeConversation> handshakes = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private ResumePort(Switch sw, SwitchServerSocket listener, SessionDirectory directory) {
        this.sw = sw;
        this.listener = listener;
        this.directory = directory;
        this.timeouts = sw.newQueue("resume port " + listener.localAddress());
    }

    /**
     * Listens on {@code port} (0: an ephemeral one) of every local address, over the TCP provider.
     *
     * @throws WsaException the TCP provider cannot listen there ({@code WSAEADDRINUSE} for a port in
     *     use), or no TCP provider runs
     */
    static ResumePort open(Switch sw, int port, SessionDirectory directory) throws WsaException {
        BoundProvider tcp = sw.tcpProvider();
        if (tcp == null) {
            throw new WsaException(WsaError.WSAENETDOWN, "no TCP provider runs for a resume port");
        }
        return open(sw, tcp, port, directory);
    }

    /**
     * Listens on {@code port} (0: an ephemeral one) of every local address, over {@code provider}: the
     * TCP provider, or an RDMA provider for moves back (docs/migration.md section 6; it listens at the
     * port plus {@code rdmaPortOffset}, as every listener of the switch does, and its connections are
     * framed switch connections that never migrate themselves).
     *
     * @throws WsaException the provider cannot listen there
     */
    static ResumePort open(Switch sw, BoundProvider provider, int port, SessionDirectory directory) throws WsaException {
        SwitchServerSocket l = sw.listenForResumes(new InetSocketAddress(wildcard(), port), MAX_HANDSHAKES, provider.name);
        ResumePort p = new ResumePort(sw, l, directory);
        LOG.info("resume port listening on {} over {}", l.localAddress(), provider.name);
        p.acceptNext();
        return p;
    }

    private static InetAddress wildcard() {
        return new InetSocketAddress(0).getAddress();
    }

    /** The port resumes come in on, as SESSION announces it. */
    int port() {
        return listener.localAddress().getPort();
    }

    /** The port its provider listens at: {@link #port()}, plus {@code rdmaPortOffset} over RDMA; 0 when none runs. */
    int listensAt() {
        return listener instanceof ListenerSocket l ? l.portOnRunning() : 0;
    }

    /** The provider it listens over, by name (it is pinned to it). */
    String provider() {
        return listener instanceof ListenerSocket l ? l.pinned() : "?";
    }

    /** Handshakes under way now (docs/security.md SEC-11: at most {@value #MAX_HANDSHAKES}). */
    int handshakes() {
        return running.get();
    }

    /** Whether it listens over a running provider now (a withdrawn one's listener rejoins its successor). */
    boolean listening() {
        return !closed && listener instanceof ListenerSocket l && l.listensOnRunning();
    }

    /** Stops listening; handshakes under way are reset. Sessions already resumed are not touched. */
    @Override
    public void close() {
        closed = true;
        listener.close();
        for (ResumeConversation c : handshakes) {
            c.expire("the resume port closed");
        }
        LOG.info("resume port {} closed", port());
    }

    /** Accepts in a loop without a thread: a connection ready at once is taken here, else on its completion. */
    private void acceptNext() {
        while (!closed) {
            CompletableFuture<SwitchSocket> next = listener.acceptAsync().toCompletableFuture();
            if (!next.isDone()) {
                next.whenComplete((s, e) -> {
                    if (e == null) {
                        begin(s);
                        acceptNext();
                    }
                });
                return;
            }
            if (next.isCompletedExceptionally()) {
                return; // closed
            }
            begin(next.join());
        }
    }

    private void begin(SwitchSocket s) {
        if (closed) {
            s.abort();
            return;
        }
        if (running.incrementAndGet() > MAX_HANDSHAKES) {
            running.decrementAndGet();
            // One WARN per time the port fills up, not one per connection of a flood.
            if (full.compareAndSet(false, true)) {
                LOG.warn("resume port {}: {} handshakes under way; new ones are reset until one ends "
                        + "(docs/security.md SEC-11), first {}", port(), MAX_HANDSHAKES, s.remoteAddress());
            } else {
                LOG.debug("resume port {}: reset {}: full", port(), s.remoteAddress());
            }
            s.abort();
            return;
        }
        ResumeHandshake.Acceptor side = new ResumeHandshake.Acceptor(directory::find, random);
        ResumeConversation c = new ResumeConversation(s, side::received);
        handshakes.add(c);
        Duration timeout = sw.settings().migration().resumeTimeout();
        Future<?> timer = sw.schedule(() -> timeouts.execute(
                () -> c.expire("no resume within " + timeout.toMillis() + " ms")), timeout);
        if (closed) {
            c.expire("the resume port closed");
        }
        c.run(ResumeHandshake.Step.next(null, ResumeHandshake.Acceptor.first())).whenComplete((o, e) -> {
            timer.cancel(false);
            handshakes.remove(c);
            if (running.decrementAndGet() < MAX_HANDSHAKES) {
                full.set(false);
            }
            ended(side.id(), s, o);
        });
    }

    private void ended(SessionId id, SwitchSocket s, ResumeConversation.Outcome o) {
        if (!o.succeeded()) {
            // docs/security.md SEC-6: a refusal is one line, the peer and the reason.
            LOG.info("resume port {}: refused the resume of {}: {}", port(), s.remoteAddress(), o.failure());
            return;
        }
        boolean taken;
        try {
            taken = directory.resumed(id, o.peerReceived(), s);
        } catch (RuntimeException e) {
            LOG.warn("resume port {}: the session {} failed to take its socket: {}", port(), id, e.toString());
            taken = false;
        }
        if (!taken) {
            LOG.info("resume port {}: session {} from {} was no longer parked", port(), id, s.remoteAddress());
            s.abort();
        }
    }

    @Override
    public String toString() {
        return "ResumePort[" + listener.localAddress() + "]";
    }
}
