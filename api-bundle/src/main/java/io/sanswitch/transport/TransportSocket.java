package io.sanswitch.transport;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ConsumerType;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.WsaException;

/**
 * One socket of a backend: primitives only. The engine keeps its state machine (bound,
 * listening, connecting, connected, closing), checks arguments and call order before calling
 * here, and serialises {@link #cancel}, {@link #closeGracefully} and {@link #reset} against the
 * socket's other calls. Compared by identity.
 *
 * <p>Unless a method says otherwise it is called on an SPI caller's thread, must not block for
 * long, and fails only with the errors its SPI call allows (others are replaced by the engine).
 *
 * <p>{@code @ConsumerType}: implemented by backends.
 */
@ConsumerType
public interface TransportSocket {

    void bind(InetSocketAddress local) throws WsaException;

    /** The bound local address (with the chosen port), or {@code null} before bind. */
    InetSocketAddress localAddress();

    void listen(int backlog) throws WsaException;

    /**
     * Starts a nonblocking connect.
     *
     * @return {@code true} if connected at once; {@code false} if the outcome will be reported
     *     through {@link TransportEvents#connectCompleted}
     */
    boolean connect(InetSocketAddress remote, byte[] callerData) throws WsaException;

    /** The first queued connection request, left queued; {@code null} when none. */
    ConnectionRequest peekConnectionRequest();

    /**
     * Dequeues and accepts {@code request}, telling the peer it is accepted.
     *
     * @return the new, connected socket
     */
    TransportSocket accept(ConnectionRequest request) throws WsaException;

    /** Dequeues {@code request} and refuses it: the peer's connect fails with {@code WSAECONNREFUSED}. */
    void reject(ConnectionRequest request);

    /**
     * Starts moving {@code operation}'s data. The backend reports its end through
     * {@link TransportEvents}, never on this thread before {@code post} returns (so the engine never
     * completes a transfer inside the call that started it, docs/rules.md Q12).
     *
     * @throws WsaException the operation was not started and will never be reported
     */
    void post(PostedOperation operation) throws WsaException;

    /**
     * Makes the backend stop touching {@code operation}: when this returns its buffers are no
     * longer read or written and it will not be reported (a report racing this call is allowed;
     * the engine ignores it). Never throws; unknown or finished operations are ignored.
     */
    void cancel(PostedOperation operation);

    /**
     * Registers a buffer for this socket's transfers.
     *
     * @param remote also expose it to the connected peer, with a descriptor
     * @throws WsaException {@code WSAENOBUFS}, {@code WSAEFAULT} (memory the backend cannot
     *     register, e.g. a heap buffer where it needs a direct one), {@code WSAENOTCONN}
     */
    TransportRegion register(ByteBuffer buffer, int access, boolean remote) throws WsaException;

    /**
     * Releases a registration; afterwards the peer cannot reach it. Never throws; may come after
     * {@link #reset} or {@link #closeGracefully} (a transfer that still pinned it ended later).
     */
    void deregister(TransportRegion region);

    /**
     * Checks that a peer's descriptor is usable for an RDMA transfer of {@code length} bytes at
     * {@code offset} before the engine posts it.
     *
     * @throws WsaException {@code WSAEINVAL} (not a descriptor of this backend, or out of range)
     */
    void checkRemote(RdmaBufferDescriptor descriptor, long offset, long length) throws WsaException;

    int getOption(int level, int name) throws WsaException;

    void setOption(int level, int name, int value) throws WsaException;

    /**
     * Orderly teardown for {@code closeSocket}: pending work was already cancelled, queued data is
     * discarded, the connection is closed and the socket's resources released. Never throws.
     */
    void closeGracefully();

    /**
     * Abortive teardown for the final cleanup (docs/rules.md LC-c): the peer sees a reset (TCP RST, UCX
     * forced endpoint close) and the socket's resources are released. Never throws; may be called
     * on a backend thread.
     */
    void reset();

    /**
     * The final cleanup will {@link #reset} this socket once its operations are aborted (docs/rules.md
     * LC-c): called before its registrations are released (step b). Nothing orderly is owed to the
     * peer any more, so a backend may skip what only a connection that goes on needs, such as waiting
     * for the peer to acknowledge the revocation of an RDMA exposure (docs/rules.md RD-access): the
     * reset ends the peer's access, and the memory is unmapped after it. Never throws; the default
     * does nothing.
     */
    default void resetFollows() {
    }
}
