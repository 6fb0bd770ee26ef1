package io.sanswitch.core;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.WsaError;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportSocket;

/**
 * One open socket of the engine: its backend socket, the switch's handle, its connection role,
 * its selected and recorded network events, its pending operations and its registrations.
 *
 * <p>Its life is {@code OPEN → CLOSING → CLOSED}, decided by compare-and-set so that closeSocket
 * and the final cleanup never both release it. Calls on the socket are counted in
 * {@link #calls()}; a closer marks it CLOSING first (new calls are refused) and then waits for the
 * calls already inside, so an operation is either refused or registered here before the closer
 * aborts what is registered: never lost.
 */
final class EngineSocket {

    enum Life {
        OPEN, CLOSING, CLOSED
    }

    enum Role {
        UNBOUND, BOUND, LISTENING, CONNECTING, CONNECTED
    }

    private final EngineSocketHandle handle;
    private final TransportSocket transport;
    private final AtomicReference<Life> life = new AtomicReference<>(Life.OPEN);
    private final InFlight calls;
    /** Deliveries of this socket's FD_* events in progress: record and setEvent (docs/rules.md SK-no-events-after-close). */
    private final InFlight deliveries;
    /** Pending operations with the order they were posted in, so they are aborted in that order. */
    private final ConcurrentHashMap<PendingOperation, Long> pending = new ConcurrentHashMap<>();
    private final AtomicLong posted = new AtomicLong();
    private final MemoryRegistry memory = new MemoryRegistry();
    private volatile long switchHandle;
    private volatile boolean hasSwitchHandle;
    private volatile InetSocketAddress peer;
    // Counted at completion, off the posting path; LongAdder so concurrent completions on one
    // socket never contend on one cache line.
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final TransferTotals totals;

    // Guarded by this.
    private Role role;
    private EventHandle event;
    private int selectedEvents;
    private int recordedEvents;
    private final WsaError[] recordedErrors = new WsaError[NetworkEvents.FD_MAX_EVENTS];

    EngineSocket(EngineSocketHandle handle, TransportSocket transport, Role role, TransferTotals totals) {
        this.handle = handle;
        this.totals = totals;
        this.transport = transport;
        this.role = role;
        this.calls = new InFlight("calls on " + handle);
        this.deliveries = new InFlight("event deliveries on " + handle);
    }

    EngineSocketHandle handle() {
        return handle;
    }

    TransportSocket transport() {
        return transport;
    }

    InFlight calls() {
        return calls;
    }

    MemoryRegistry memory() {
        return memory;
    }

    Life life() {
        return life.get();
    }

    boolean isOpen() {
        return life.get() == Life.OPEN;
    }

    /** OPEN → CLOSING: {@code true} for the one closer. */
    boolean beginClose() {
        return life.compareAndSet(Life.OPEN, Life.CLOSING);
    }

    void markClosed() {
        life.set(Life.CLOSED);
    }

    void switchHandle(long h) {
        switchHandle = h;
        hasSwitchHandle = true;
    }

    long switchHandle() {
        return switchHandle;
    }

    boolean hasSwitchHandle() {
        return hasSwitchHandle;
    }

    /** The address connected to or accepted from (diagnostics). */
    void peer(InetSocketAddress address) {
        peer = address;
    }

    InetSocketAddress peer() {
        return peer;
    }

    /** Counts the bytes of a completed transfer in its direction (diagnostics). */
    void countTransferred(PostedOperation.Kind kind, long bytes) {
        if (bytes <= 0) {
            return;
        }
        switch (kind) {
            case RECV, RDMA_READ -> {
                bytesIn.add(bytes);
                totals.received(bytes);
            }
            case SEND, RDMA_WRITE -> {
                bytesOut.add(bytes);
                totals.sent(bytes);
            }
        }
    }

    long bytesIn() {
        return bytesIn.sum();
    }

    long bytesOut() {
        return bytesOut.sum();
    }

    // ---- pending operations ----

    void addPending(PendingOperation op) {
        pending.put(op, posted.incrementAndGet());
    }

    void removePending(PendingOperation op) {
        pending.remove(op);
    }

    /**
     * The pending operations, oldest first. Aborting in posting order completes them in the order
     * the switch posted them, and lets a backend whose queues are FIFO find each one at the head
     * (hash order made the NIO backend's removals quadratic in the operations per socket).
     */
    List<PendingOperation> pendingSnapshot() {
        List<Map.Entry<PendingOperation, Long>> entries = new ArrayList<>(pending.entrySet());
        entries.sort(Map.Entry.comparingByValue());
        List<PendingOperation> ops = new ArrayList<>(entries.size());
        for (Map.Entry<PendingOperation, Long> e : entries) {
            ops.add(e.getKey());
        }
        return ops;
    }

    int pendingCount() {
        return pending.size();
    }

    // ---- role ----

    synchronized Role role() {
        return role;
    }

    synchronized boolean compareAndSetRole(Role expected, Role next) {
        if (role != expected) {
            return false;
        }
        role = next;
        return true;
    }

    // ---- network events (docs/rules.md BG-events) ----

    /**
     * Counts one delivery of an FD_* event, from before {@link #record} reads the socket's life to
     * after the switch's setEvent returned; the caller must {@link #deliveryDone()}. Entered before
     * the life is read, so a closer that wins {@link #beginClose()} and then
     * {@linkplain #awaitEventDeliveries waits} sees every delivery that saw the socket open.
     */
    void deliveryBegins() {
        deliveries.enter();
    }

    void deliveryDone() {
        deliveries.exit();
    }

    /**
     * docs/rules.md SK-no-events-after-close: closeSocket returns only once the deliveries on other threads
     * that saw the socket open are over. The calling thread's own delivery is not waited for: a
     * closeSocket inside the setEvent upcall of this socket would wait for itself.
     *
     * @return {@code false} if they did not end within {@code timeout}
     */
    boolean awaitEventDeliveries(Duration timeout) {
        return deliveries.awaitQuiescent(timeout);
    }

    /** {@code eventSelect}: new association, recorded events cleared. */
    synchronized void select(EventHandle newEvent, int mask) {
        event = mask == 0 ? null : newEvent;
        selectedEvents = mask;
        recordedEvents = 0;
        Arrays.fill(recordedErrors, null);
    }

    /**
     * Records an event if the socket is open and selected it.
     *
     * @return the event object to set, or {@code null} when nothing is to be signalled
     */
    synchronized EventHandle record(int bit, WsaError error) {
        int mask = 1 << bit;
        if (life.get() != Life.OPEN || (selectedEvents & mask) == 0 || event == null) {
            return null;
        }
        recordedEvents |= mask;
        recordedErrors[bit] = error;
        return event;
    }

    /** {@code enumNetworkEvents}: the record, cleared. */
    synchronized NetworkEventRecord takeRecord() {
        NetworkEventRecord r = NetworkEventRecord.of(recordedEvents, recordedErrors);
        recordedEvents = 0;
        Arrays.fill(recordedErrors, null);
        return r;
    }

    /** A successful accept re-arms FD_ACCEPT (docs/rules.md EV-accept). */
    synchronized EventHandle clearAccept() {
        recordedEvents &= ~NetworkEvents.FD_ACCEPT;
        recordedErrors[NetworkEvents.FD_ACCEPT_BIT] = null;
        return (selectedEvents & NetworkEvents.FD_ACCEPT) != 0 ? event : null;
    }

    @Override
    public String toString() {
        return handle + "[" + life.get() + ", " + role() + ", " + pending.size() + " pending]";
    }
}
