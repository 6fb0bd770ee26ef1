package io.sanswitch.core.switcher;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.transport.Cidr;

/**
 * One provider the switch has started, with the switch's upcall table for it (one table per
 * provider, so every upcall is known to come from this provider).
 *
 * <p>Every upcall only records or enqueues: upcalls come on backend threads and, during a final
 * cleanup, on the framework thread stopping a bundle (docs/toolchain.md TC-13), so they must never block nor
 * take a lock that a thread calling into the provider could hold. The one exception is a successful
 * completion, which runs the connection's non-blocking code on the backend's thread when its queue
 * is idle ({@link Connection#whenDone}); a final cleanup only aborts, and aborted completions enqueue.
 */
final class BoundProvider implements UpcallTable {
    private static final Logger LOG = LoggerFactory.getLogger(BoundProvider.class);

    /**
     * What the switch learned about the provider at startup (docs/rules.md SW-start: extension lookup, options);
     * {@code maxMessageSize} is SO_MAX_MSG_SIZE, the most bytes one send may carry.
     */
    record Capabilities(boolean rdma, boolean rdmaRead, int rdmaThreshold, long maxRdmaSize, int maxMessageSize) {
    }

    /** A provider socket of this provider, from createSocketHandle to closeSocketHandle (docs/rules.md SK-handle). */
    static final class Slot {
        private static final Runnable CLOSED = () -> {
        };
        final long id;
        final SocketHandle handle;
        private final AtomicReference<Runnable> onClosed = new AtomicReference<>();
        /** Why the socket is on this provider, for {@code san:sockets}; set by its owner. */
        private volatile String reason;
        /** One of the switch's own sockets (a resume port's listener), not an application's (docs/rules.md SW-own-sockets). */
        private volatile boolean switchOwn;

        Slot(long id, SocketHandle handle) {
            this.id = id;
            this.handle = handle;
        }

        /**
         * Runs {@code reaction} (which must only enqueue) when the provider closes the handle, or now
         * if it did. It replaces an earlier one: the socket changed owner (a connect attempt hands
         * its socket to the connection it made).
         */
        void whenClosed(Runnable reaction) {
            while (true) {
                Runnable current = onClosed.get();
                if (current == CLOSED) {
                    reaction.run();
                    return;
                }
                if (onClosed.compareAndSet(current, reaction)) {
                    return;
                }
            }
        }

        boolean isClosed() {
            return onClosed.get() == CLOSED;
        }

        void reason(String why) {
            reason = why;
        }

        String reason() {
            return reason;
        }

        void switchOwn() {
            switchOwn = true;
        }

        boolean isSwitchOwn() {
            return switchOwn;
        }

        void closed() {
            Runnable r = onClosed.getAndSet(CLOSED);
            if (r != null && r != CLOSED) {
                r.run();
            }
        }
    }

    final SanServiceProvider spi;
    final String name;
    private volatile Capabilities capabilities;
    private volatile List<Cidr> subnets;
    private final AtomicBoolean retired = new AtomicBoolean();
    /**
     * Set when the switch's cleanup call on this provider returned. The switch knows the provider's
     * notification gate closed from the SPI alone only then: that call was the final cleanup, or
     * the final cleanup ran before it (it answered {@code WSANOTINITIALISED}). How the engine runs
     * its cleanup (on which thread, in which order inside) is not the switch's to infer. From then
     * on no FD_* event may come (docs/rules.md LC-a).
     */
    private final AtomicBoolean gateClosed = new AtomicBoolean();
    private final AtomicLong eventsAfterRetirement;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Slot> slots = new ConcurrentHashMap<>();
    private final Map<SocketHandle, Slot> slotsByHandle = new ConcurrentHashMap<>();
    /** Reactions to the provider's withdrawal (connects in progress); each only enqueues. */
    private final Set<Runnable> onRetire = ConcurrentHashMap.newKeySet();
    /** Run once when the withdrawn provider's switch cleanup returned and its last socket closed. */
    private final Consumer<BoundProvider> onGone;
    private final AtomicBoolean goneReported = new AtomicBoolean();

    BoundProvider(SanServiceProvider spi, String name, List<Cidr> subnets, AtomicLong eventsAfterRetirement,
            Consumer<BoundProvider> onGone) {
        this.spi = spi;
        this.name = name;
        this.subnets = List.copyOf(subnets);
        this.eventsAfterRetirement = eventsAfterRetirement;
        this.onGone = onGone;
    }

    /** Set once after startupEx: what the extension lookup and the options said. */
    void capabilities(Capabilities c) {
        capabilities = c;
    }

    Capabilities capabilities() {
        return capabilities;
    }

    boolean rdma() {
        return capabilities != null && capabilities.rdma();
    }

    void subnets(List<Cidr> s) {
        subnets = List.copyOf(s);
    }

    /** The SAN subnets this provider publishes (service property {@code sanswitch.san.subnets}). */
    List<Cidr> subnets() {
        return subnets;
    }

    /** The SAN subnets this provider publishes itself (service property {@code sanswitch.san.subnets}). */
    boolean publishesSubnetOf(InetAddress address) {
        for (Cidr c : subnets) {
            if (c.contains(address)) {
                return true;
            }
        }
        return false;
    }

    boolean isRetired() {
        return retired.get();
    }

    /** The provider is going away: no new work, and whoever waits on it is told (by enqueueing). */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            for (Runnable r : onRetire) {
                r.run();
            }
            onRetire.clear();
        }
    }

    /**
     * The switch's cleanup call returned: whatever the count was, no event may come any more. (While
     * that call runs, events are dropped as from any withdrawn provider, see {@link #setEvent}.)
     */
    void cleanedUp() {
        gateClosed.set(true);
        reportIfGone();
    }

    /**
     * The switch lets go of a withdrawn provider as soon as nothing of it is left (docs/architecture.md,
     * hot swap: its engine references the old bundle revision's transport, which would otherwise stay
     * loaded). Its last sockets may close after the cleanup call returned, on a backend thread.
     */
    private void reportIfGone() {
        if (gateClosed.get() && slots.isEmpty() && goneReported.compareAndSet(false, true)) {
            onGone.accept(this);
        }
    }

    void onRetire(Runnable reaction) {
        onRetire.add(reaction);
        if (retired.get() && onRetire.remove(reaction)) {
            reaction.run();
        }
    }

    void noLongerOnRetire(Runnable reaction) {
        onRetire.remove(reaction);
    }

    /** The slot of a socket this provider created, or {@code null} if its handle is already closed. */
    Slot slotOf(SocketHandle handle) {
        return slotsByHandle.get(handle);
    }

    /** The reason recorded for the socket with this switch handle, or {@code null}. */
    String reasonOf(long switchHandle) {
        Slot s = slots.get(switchHandle);
        return s == null ? null : s.reason();
    }

    int liveSockets() {
        return slots.size();
    }

    /** Of {@link #liveSockets()}, the switch's own (its resume port's listener; docs/rules.md SW-own-sockets). */
    int switchSockets() {
        int n = 0;
        for (Slot s : slots.values()) {
            if (s.isSwitchOwn()) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ upcalls (docs/rules.md BG-upcalls)

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        Slot s = new Slot(ids.incrementAndGet(), providerSocket);
        slots.put(s.id, s);
        slotsByHandle.put(providerSocket, s);
        return s.id;
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        Slot s = slots.remove(switchHandle);
        if (s == null) {
            LOG.warn("{}: closeSocketHandle for an unknown handle {}", name, switchHandle);
            return;
        }
        slotsByHandle.remove(s.handle, s);
        s.closed();
        reportIfGone();
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        if (overlapped.context() instanceof IoCompletion c) {
            c.completed(result);
        }
    }

    @Override
    public void setEvent(EventHandle event) {
        if (gateClosed.get()) {
            // docs/rules.md LC-a: no FD_* event once the provider's final cleanup ran. Counted, never acted on.
            eventsAfterRetirement.incrementAndGet();
            LOG.warn("{}: FD_* event during or after the provider's cleanup", name, new Throwable("the upcall"));
            return;
        }
        if (retired.get()) {
            // Withdrawn, the switch's cleanup call not returned yet: an event may still pass the
            // provider's gate; it concerns a socket the switch is giving up anyway.
            return;
        }
        if (event instanceof SwitchEvent e) {
            e.set();
        }
    }

    @Override
    public void resetEvent(EventHandle event) {
        // The switch's events carry no state to reset: each signal is a reason to look.
    }

    @Override
    public String toString() {
        return "provider " + name + (retired.get() ? " (withdrawn)" : "");
    }
}
