package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAEINTR;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * A listener of the switch: one provider listener per provider that can reach its address (docs/rules.md
 * AC-condition), each accepting on FD_ACCEPT on this listener's queue. Accepted connections wait in a queue
 * bounded by the backlog; the condition function refuses what does not fit.
 *
 * <p>The lock guards only the queue of accepted connections and waiting accepts; no provider is
 * called while it is held.
 */
final class ListenerSocket implements SwitchServerSocket {
    private static final Logger LOG = LoggerFactory.getLogger(ListenerSocket.class);

    /** This listener's socket on one provider. */
    private final class ProviderListener {
        final BoundProvider provider;
        final SocketHandle handle;
        final InetSocketAddress at;

        ProviderListener(BoundProvider provider, SocketHandle handle, InetSocketAddress at) {
            this.provider = provider;
            this.handle = handle;
            this.at = at;
        }
    }

    private final Switch sw;
    private final InetSocketAddress local;
    private final int backlog;
    /** The only provider this listener uses (the application named it), or {@code null}: every one. */
    private final String pinned;
    /** A resume port's listener (docs/migration.md section 6): its connections never migrate themselves. */
    private final boolean resumeSockets;
    private final SerialQueue queue;
    private final Map<BoundProvider, ProviderListener> listening = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private final ArrayDeque<SwitchSocket> ready = new ArrayDeque<>();
    private final ArrayDeque<CompletableFuture<SwitchSocket>> waiting = new ArrayDeque<>();
    private int starting;
    private volatile boolean closed;

    ListenerSocket(Switch sw, InetSocketAddress local, int backlog, String pinned, boolean resumeSockets) {
        this.resumeSockets = resumeSockets;
        this.sw = sw;
        this.local = local;
        this.backlog = backlog;
        this.pinned = pinned;
        this.queue = sw.newQueue("listener " + local);
    }

    /**
     * Listens on {@code p} at {@code at}: socket, bind, listen, then FD_ACCEPT (docs/rules.md SW-start, AC-condition).
     *
     * @throws WsaException the provider could not listen there; nothing is left open
     */
    void listenOn(BoundProvider p, InetSocketAddress at) throws WsaException {
        if (closed) {
            return;
        }
        SocketHandle h = p.spi.socket(at.getAddress() instanceof Inet6Address ? Winsock.AF_INET6 : Winsock.AF_INET,
                Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        try {
            p.spi.bind(h, at);
            p.spi.listen(h, backlog);
            ProviderListener pl = new ProviderListener(p, h, at);
            listening.put(p, pl);
            BoundProvider.Slot slot = p.slotOf(h);
            if (slot != null) {
                String rdmaPort = at.getPort() != local.getPort() ? " (RDMA port +" + (at.getPort() - local.getPort()) + ")" : "";
                if (resumeSockets) {
                    // docs/rules.md SW-own-sockets: the switch's own, shown apart from the application's listeners.
                    slot.switchOwn();
                    slot.reason("RESUME PORT: the switch's own listener for moves " + (p.rdma() ? "back " : "") + "to "
                            + p.name + ", port " + local.getPort() + rdmaPort);
                } else {
                    slot.reason("LISTENING: switch listener " + local.getAddress().getHostAddress() + ":" + local.getPort()
                            + (pinned != null ? " pinned to " + pinned : "") + rdmaPort);
                }
                slot.whenClosed(() -> queue.execute(() -> stopped(pl)));
            }
            p.spi.eventSelect(h, new SwitchEvent(queue, () -> acceptAll(pl)), NetworkEvents.FD_ACCEPT);
            LOG.info("listening on {} over {}", at, p.name);
        } catch (WsaException | RuntimeException e) {
            listening.remove(p);
            sw.closeQuietly(p, h);
            throw e;
        }
        if (closed) {
            stopped(listening.get(p));
        }
    }

    /** FD_ACCEPT: accepts every queued request (docs/rules.md AC-condition), the condition function deciding. */
    private void acceptAll(ProviderListener pl) {
        while (!closed && listening.get(pl.provider) == pl) {
            boolean[] reserved = {false};
            try {
                AcceptedSocket a = pl.provider.spi.accept(pl.handle, (peer, data, cb) -> {
                    reserved[0] = reserve();
                    return reserved[0] ? ConditionDecision.CF_ACCEPT : ConditionDecision.CF_REJECT;
                }, 0);
                Connection c = new Connection(sw, pl.provider, a.socket(),
                        new ProviderChoice(pl.provider.name, ProviderChoice.Reason.ACCEPTED, null), pl.at, a.peer(),
                        resumeSockets);
                CompletableFuture<SwitchSocket> started = new CompletableFuture<>();
                started.whenComplete((s, failure) -> offer(s));
                c.start(started);
            } catch (WsaException e) {
                if (reserved[0]) {
                    offer(null);
                }
                switch (e.error()) {
                    case WSAEWOULDBLOCK:
                        return;
                    case WSAECONNREFUSED, WSAECONNRESET, WSATRY_AGAIN:
                        continue; // refused by our backlog, or the peer left: next request
                    default:
                        LOG.debug("accept on {} over {}: {}", pl.at, pl.provider.name, e.error());
                        stopped(pl);
                        return;
                }
            }
        }
    }

    private boolean reserve() {
        synchronized (lock) {
            if (closed || ready.size() + starting >= backlog) {
                return false;
            }
            starting++;
            return true;
        }
    }

    /** A reserved place is filled ({@code s}) or given up ({@code null}). */
    private void offer(SwitchSocket s) {
        synchronized (lock) {
            starting--;
        }
        if (s == null) {
            return;
        }
        sw.counted(ProviderChoice.Reason.ACCEPTED);
        while (true) {
            CompletableFuture<SwitchSocket> taker;
            synchronized (lock) {
                if (closed) {
                    break;
                }
                taker = waiting.poll();
                if (taker == null) {
                    ready.add(s);
                    return;
                }
            }
            if (taker.complete(s)) {
                return;
            }
            // that accept was cancelled by its caller: the next one takes it
        }
        s.abort();
    }

    /** The provider listener is gone (its provider stopped, or accept failed for good). */
    private void stopped(ProviderListener pl) {
        if (pl != null && listening.remove(pl.provider, pl)) {
            sw.closeQuietly(pl.provider, pl.handle);
            LOG.info("no longer listening on {} over {}", pl.at, pl.provider.name);
        }
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Whether it listens on that very provider. Not by name: a provider that left and one that came
     * after it carry the same name, and the one that left is dropped from here on this listener's
     * queue, a moment after its cleanup closed the socket (docs/rules.md SW-join).
     */
    /** Whether it listens over a provider that was not withdrawn. */
    boolean listensOnRunning() {
        for (BoundProvider p : listening.keySet()) {
            if (!p.isRetired()) {
                return true;
            }
        }
        return false;
    }

    /** The port it listens at over a provider that was not withdrawn (an RDMA provider's is offset), or 0. */
    int portOnRunning() {
        for (ProviderListener pl : listening.values()) {
            if (!pl.provider.isRetired()) {
                return pl.at.getPort();
            }
        }
        return 0;
    }

    boolean listensOn(BoundProvider p) {
        return listening.containsKey(p);
    }

    String pinned() {
        return pinned;
    }

    /** A resume port's listener: the switch's own, not the application's (docs/rules.md SW-own-sockets). */
    boolean switchOwn() {
        return resumeSockets;
    }

    InetSocketAddress address() {
        return local;
    }

    @Override
    public SwitchSocket accept() throws WsaException {
        try {
            return acceptAsync().toCompletableFuture().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WsaException(WSAEINTR, "interrupted while accepting on " + local);
        } catch (ExecutionException e) {
            throw BlockingCalls.failureOf(e, "accept on " + local);
        }
    }

    @Override
    public CompletionStage<SwitchSocket> acceptAsync() {
        CompletableFuture<SwitchSocket> f = new CompletableFuture<>();
        SwitchSocket s;
        synchronized (lock) {
            if (closed) {
                f.completeExceptionally(new WsaException(WSAENOTSOCK, "listener " + local + " is closed"));
                return f;
            }
            s = ready.poll();
            if (s == null) {
                waiting.add(f);
                return f;
            }
        }
        f.complete(s);
        return f;
    }

    @Override
    public void close() {
        List<SwitchSocket> abandoned;
        List<CompletableFuture<SwitchSocket>> waiters;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            abandoned = new ArrayList<>(ready);
            ready.clear();
            waiters = new ArrayList<>(waiting);
            waiting.clear();
        }
        for (ProviderListener pl : new ArrayList<>(listening.values())) {
            stopped(pl);
        }
        for (CompletableFuture<SwitchSocket> w : waiters) {
            w.completeExceptionally(new WsaException(WSAENOTSOCK, "listener " + local + " closed"));
        }
        for (SwitchSocket s : abandoned) {
            s.abort(); // docs/rules.md SW-abandoned-accept: an accept the application abandons closes the accepted socket
        }
        sw.listenerClosed(this);
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public List<String> providers() {
        List<String> names = new ArrayList<>();
        for (BoundProvider p : listening.keySet()) {
            names.add(p.name);
        }
        return names;
    }

    @Override
    public String toString() {
        return "SwitchServerSocket[" + local + " on " + providers() + "]";
    }
}
