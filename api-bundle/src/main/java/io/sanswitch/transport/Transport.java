package io.sanswitch.transport;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

import io.sanswitch.spi.WsaException;

/**
 * What a backend bundle supplies: the primitives of one transport (UCX, NIO, ...), with no rule
 * of the SPI in it. The provider engine in core wraps a {@code Transport} and owns every lifecycle
 * rule (reference counting, cleanup order, exactly-once completion, the notification gate):
 * a backend never counts startups, never orders a cleanup and never completes an operation.
 *
 * <p><b>Calls.</b> The engine calls {@link #open} and {@link #close} strictly alternately, never
 * concurrently. {@link #close} may be called on one of the transport's own threads (a cleanup
 * made from inside an upcall, docs/rules.md LC-reentrant): it must then not wait for that thread.
 *
 * <p>{@code @ConsumerType}: implemented outside core, so adding a method is a major change
 * (unless it has a default that keeps every existing backend working, as the batch calls have).
 */
@ConsumerType
public interface Transport {

    /** A short name for logs and for the switch ("tcp", "ucx"). */
    String name();

    /** What this backend can do; constant for the life of the object. */
    TransportCapabilities capabilities();

    /**
     * Acquires the backend's resources (threads, contexts, selectors) for one run. Called by the
     * first successful startup of the engine.
     *
     * @param events where the backend reports, until {@link #close} returns
     * @throws WsaException {@code WSASYSNOTREADY} when the network subsystem cannot be opened;
     *     the backend has then released whatever it acquired
     */
    void open(TransportEvents events) throws WsaException;

    /**
     * Releases every resource of the run: after it returns no thread of this run is left, no
     * port is held, and the backend makes no report. Never throws; called once after every
     * successful {@link #open}, after every socket was reset (docs/rules.md LC-d).
     */
    void close();

    /**
     * {@code true} once the network subsystem under this run has failed (the bound interface is
     * gone, the fabric is down). Read by the final cleanup after it released everything, to report
     * {@code WSAENETDOWN} (docs/rules.md LC-e). May block briefly; never throws.
     */
    boolean networkSubsystemFailed();

    /**
     * A new unbound stream socket of the given family ({@code Winsock.AF_INET} or
     * {@code AF_INET6}).
     *
     * @throws WsaException {@code WSAEAFNOSUPPORT}, {@code WSAEMFILE}, {@code WSAENOBUFS},
     *     {@code WSAENETDOWN}
     */
    TransportSocket newSocket(int addressFamily) throws WsaException;

    /** The IP addresses of this backend's interfaces, for {@code SIO_ADDRESS_LIST_QUERY}. */
    List<InetAddress> localAddresses() throws WsaException;

    /**
     * {@link TransportSocket#cancel} for many operations of many closing sockets at once, each
     * socket's operations in the order given: the final cleanup hands over every pending operation
     * in one call, so a backend whose cancel is a hop to its own thread can make one hop instead of
     * one per operation. The same contract as {@code cancel} for each operation when this returns.
     * The default cancels one after the other.
     *
     * @param operations per socket of this transport (iterated in the map's order), its operations
     * @throws RuntimeException only what a socket's {@code cancel} threw (the first; later ones
     *     suppressed), after every other operation was cancelled
     */
    default void cancel(Map<TransportSocket, List<PostedOperation>> operations) {
        RuntimeException first = null;
        for (Map.Entry<TransportSocket, List<PostedOperation>> e : operations.entrySet()) {
            for (PostedOperation op : e.getValue()) {
                try {
                    e.getKey().cancel(op);
                } catch (RuntimeException thrown) {
                    if (first == null) {
                        first = thrown;
                    } else {
                        first.addSuppressed(thrown);
                    }
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * How many operations the final cleanup hands to one {@link #cancel(Map)} call (a socket's
     * operations are never split). The default suits a backend that cancels one operation after the
     * other anyway: the engine claims, cancels and completes a batch while it is still in the CPU's
     * cache (docs/performance.md, final cleanup). A backend whose batch cancel costs a hop to its own
     * thread answers {@link Integer#MAX_VALUE}: every operation in one call.
     */
    default int cancelBatchOperations() {
        return DEFAULT_CANCEL_BATCH;
    }

    /** {@link #cancelBatchOperations()}'s default: measured best of 1,024, 2,048 and 3,125 (docs/performance.md). */
    int DEFAULT_CANCEL_BATCH = 2_048;

    /**
     * {@link TransportSocket#reset} for many sockets of this transport at once (the final cleanup's
     * step c): a backend can tear its endpoints down together and wait for them once instead of
     * once per socket. The default resets one after the other.
     *
     * @throws RuntimeException only what a socket's {@code reset} threw (the first; later ones
     *     suppressed), after every other socket was reset
     */
    default void reset(List<TransportSocket> sockets) {
        RuntimeException first = null;
        for (TransportSocket s : sockets) {
            try {
                s.reset();
            } catch (RuntimeException thrown) {
                if (first == null) {
                    first = thrown;
                } else {
                    first.addSuppressed(thrown);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
