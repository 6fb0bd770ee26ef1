package io.sanswitch.spi;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.UUID;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A SAN service provider as the switch sees it: the {@code WSP*} calls of the dispatch table that
 * a SAN provider must implement (docs/rules.md BG-calls) and the SAN extensions (docs/rules.md RD-extensions), one method each.
 *
 * <p><b>Failures.</b> Every call fails only by throwing a {@link WsaException} whose error is one
 * {@link SpiCall#allowedErrors()} lists for it. A call that needs a running provider fails with
 * {@code WSANOTINITIALISED} when no startup is outstanding; a socket call on a descriptor from an
 * earlier run, or a closed one, fails with {@code WSAENOTSOCK} (docs/rules.md Q8). Bad input (a {@code null}
 * argument, a foreign handle, a slice outside its registration) is a {@code WsaException} too,
 * never a {@code NullPointerException}.
 *
 * <p><b>Overlapped transfers</b> ({@link #send}, {@link #recv}, {@link #rdmaWrite},
 * {@link #rdmaRead}) always start and return: a normal return is {@code WSA_IO_PENDING}, and the
 * outcome arrives on the {@link Overlapped} in its mode, exactly once (docs/rules.md Q12: this provider never
 * completes a transfer synchronously). A thrown error means the operation was not started and no
 * completion will follow.
 *
 * <p><b>Lifecycle</b> (docs/architecture.md, lifecycle): {@link #startupEx} counts; only the {@link #cleanup} that takes
 * the count to zero cleans up, and leaves the provider ready for a new {@code startupEx} at once.
 *
 * <p>{@code @ProviderType}: only sanswitch's core implements it; switches call it.
 */
@ProviderType
public interface SanServiceProvider {

    /** The version this provider supports (docs/rules.md Q10). */
    WinsockVersion SUPPORTED_VERSION = WinsockVersion.V2_2;

    /**
     * {@code WSPStartupEx}: adds one to the reference count; the first successful call acquires
     * the backend's resources. A request below 2.2 fails; one at or above is answered 2.2/2.2
     * (docs/rules.md Q10). A failed call changes nothing (docs/rules.md Q7).
     *
     * @param requested the version the switch asks for
     * @param protocolInfo the TCP/IP provider's protocol info
     * @param upcalls the switch's upcall table; the most recent one is used (docs/rules.md Q11)
     * @throws WsaException {@code WSAVERNOTSUPPORTED} (below 2.2), {@code WSASYSNOTREADY} (the
     *     backend cannot start), {@code WSAEPROCLIM} (the configured maximum of outstanding startups
     *     is reached), {@code WSAEFAULT} (a {@code null} argument)
     */
    ProviderData startupEx(WinsockVersion requested, ProtocolInfo protocolInfo, UpcallTable upcalls)
            throws WsaException;

    /**
     * {@code WSPCleanup}: ends one use. Only the call that takes the count to zero runs the final
     * cleanup (docs/rules.md LC-order): no FD_* event from then on; every pending operation cancelled, its
     * memory released, then completed once with {@code WSA_OPERATION_ABORTED} in its mode; every
     * open socket reset and released as by {@link #closeSocket}; the backend's resources released;
     * the provider idle and restartable at once. May be called from inside an upcall.
     *
     * @throws WsaException {@code WSANOTINITIALISED} (no startup outstanding), {@code WSAENETDOWN}
     *     (the network subsystem failed; reported after everything was released). Never
     *     {@code WSAEINVAL}.
     */
    void cleanup() throws WsaException;

    /**
     * {@code WSPSocket}: creates a companion socket and obtains the switch's handle for it through
     * {@link UpcallTable#createSocketHandle}.
     *
     * @param addressFamily {@link Winsock#AF_INET} (IPv6 only where the backend supports it)
     * @param type {@link Winsock#SOCK_STREAM}
     * @param protocol {@link Winsock#IPPROTO_TCP}
     * @param protocolInfo may be {@code null}; a non-zero {@code providerReserved} (a duplicated
     *     socket) is {@code WSAEINVAL}: socket duplication is not supported
     * @param flags reserved, 0
     */
    SocketHandle socket(int addressFamily, int type, int protocol, ProtocolInfo protocolInfo, int flags)
            throws WsaException;

    /** {@code WSPBind}: the local IP address and port, the same as the TCP socket's. */
    void bind(SocketHandle socket, InetSocketAddress local) throws WsaException;

    /** {@code WSPListen}: the bound socket accepts connection requests (SOMAXCONN allowed). */
    void listen(SocketHandle socket, int backlog) throws WsaException;

    /**
     * {@code WSPAccept}: takes the first queued connection request, asks {@code condition} on this
     * thread, then accepts it (new socket, {@code createSocketHandle}, the FD_ACCEPT event reset) or
     * refuses it.
     *
     * @throws WsaException {@code WSAECONNREFUSED} when the condition answered
     *     {@link ConditionDecision#CF_REJECT}; {@code WSATRY_AGAIN} for {@code CF_DEFER};
     *     {@code WSAEWOULDBLOCK} when no request is queued
     */
    AcceptedSocket accept(SocketHandle socket, ConditionFunction condition, long callbackData)
            throws WsaException;

    /**
     * {@code WSPConnect}: always nonblocking; the outcome of a connect that returns
     * {@link ConnectStatus#IN_PROGRESS} arrives as FD_CONNECT. Called once per socket: a second call
     * is {@code WSAEALREADY} while one runs, {@code WSAEISCONN} once connected (docs/rules.md Q20).
     *
     * @param callerData connect data for the peer, may be {@code null}
     */
    ConnectStatus connect(SocketHandle socket, InetSocketAddress remote, byte[] callerData) throws WsaException;

    /**
     * {@code WSPCloseSocket}: tears the connection down, aborts the socket's pending operations
     * (memory released, then {@code WSA_OPERATION_ABORTED}), releases its registrations, and makes
     * {@link UpcallTable#closeSocketHandle} the last upcall for it. Later use is
     * {@code WSAENOTSOCK}.
     */
    void closeSocket(SocketHandle socket) throws WsaException;

    /**
     * {@code WSPEventSelect}: ties an event object and an FD_* mask to the socket, replacing any
     * earlier association and clearing recorded events; a mask of 0 removes the association.
     */
    void eventSelect(SocketHandle socket, EventHandle event, int networkEvents) throws WsaException;

    /**
     * {@code WSPEnumNetworkEvents}: the events recorded since the last call; clears the record
     * and resets {@code eventToReset} (may be {@code null}).
     */
    NetworkEventRecord enumNetworkEvents(SocketHandle socket, EventHandle eventToReset) throws WsaException;

    /**
     * {@code WSPGetOverlappedResult}: the outcome of an operation started on this socket.
     *
     * @param wait wait until the operation ends (the wait is never counted as a call in progress,
     *     so the final cleanup is not held up by it: it aborts the operation, which ends the wait)
     * @return the outcome of a successful operation
     * @throws WsaException {@code WSA_IO_INCOMPLETE} while it runs and {@code wait} is false;
     *     the operation's own error (e.g. {@code WSA_OPERATION_ABORTED}) when it failed;
     *     {@code WSA_INVALID_PARAMETER} for an overlapped never started
     */
    OverlappedResult getOverlappedResult(SocketHandle socket, Overlapped overlapped, boolean wait)
            throws WsaException;

    /**
     * {@code WSPIoctl} for the control codes carried as bytes:
     * {@link Winsock#SIO_GET_EXTENSION_FUNCTION_POINTER} (in: the GUID as 16 bytes, most
     * significant first; out: the 4-byte ordinal of the {@link SanExtension}) and
     * {@link Winsock#SIO_ADDRESS_LIST_QUERY} (out: {@code int count}, then per address its length
     * byte (4 or 16) and its bytes). Completes at once; other codes are {@code WSAEOPNOTSUPP}.
     *
     * @return bytes written to {@code out}
     * @throws WsaException {@code WSAEFAULT} when {@code out} is too small
     */
    int ioctl(SocketHandle socket, int ioControlCode, ByteBuffer in, ByteBuffer out) throws WsaException;

    /**
     * The typed form of {@code ioctl(SIO_GET_EXTENSION_FUNCTION_POINTER)}.
     *
     * @throws WsaException {@code WSAEOPNOTSUPP} for an optional extension this provider lacks
     *     (docs/rules.md RD-extensions), {@code WSAEINVAL} for a GUID that is no SAN extension
     */
    SanExtension getExtensionFunction(SocketHandle socket, UUID guid) throws WsaException;

    /**
     * {@code WSPGetSockOpt} at {@link Winsock#SOL_SOCKET} or {@link Winsock#IPPROTO_TCP}
     * (docs/rules.md NS-options). The provider answers the sizes itself from its backend's
     * {@code TransportCapabilities}: {@link Winsock#SO_MAX_MSG_SIZE} is the largest single send, and on
     * an RDMA provider {@link Winsock#SO_MAX_RDMA_SIZE} the largest RDMA transfer (each
     * {@link Integer#MAX_VALUE} where the backend sets no limit) and {@link Winsock#SO_RDMA_THRESHOLD_SIZE};
     * without RDMA those two are {@code WSAENOPROTOOPT}. Every other option is the backend's, which
     * answers those it keeps and {@code WSAENOPROTOOPT} for the rest.
     */
    int getSockOpt(SocketHandle socket, int level, int optionName) throws WsaException;

    /**
     * {@code WSPSetSockOpt} at {@link Winsock#SOL_SOCKET} or {@link Winsock#IPPROTO_TCP}. The sizes
     * {@link #getSockOpt} answers itself are read-only ({@code WSAENOPROTOOPT}, the value unchanged);
     * every other option goes to the backend (docs/rules.md NS-options).
     */
    void setSockOpt(SocketHandle socket, int level, int optionName, int value) throws WsaException;

    /**
     * {@code WSPSend}: posts a send from registered buffers that stay untouched until the
     * operation completes. {@code flags} must be 0.
     */
    void send(SocketHandle socket, WsaBuf[] buffers, int flags, Overlapped overlapped) throws WsaException;

    /**
     * {@code WSPRecv}: posts a receive into registered buffers (filled directly). A peer reset
     * completes pending receives with {@code WSAECONNRESET}.
     */
    void recv(SocketHandle socket, WsaBuf[] buffers, Overlapped overlapped) throws WsaException;

    /**
     * {@code WSPRegisterMemory}: registers a buffer as a local source/target for this socket.
     *
     * @param access {@link Winsock#MEM_READ}, {@link Winsock#MEM_WRITE} or
     *     {@link Winsock#MEM_READWRITE}; anything else is {@code WSAEINVAL}
     */
    MemoryHandle registerMemory(SocketHandle socket, ByteBuffer buffer, int access) throws WsaException;

    /**
     * {@code WSPDeregisterMemory}: {@code WSAEINVAL} for an unknown handle or one still used by a
     * transfer.
     */
    void deregisterMemory(SocketHandle socket, MemoryHandle registration) throws WsaException;

    /**
     * {@code WSPRegisterRdmaMemory}: exposes a buffer to the connected peer.
     *
     * @return the descriptor to send to the peer
     */
    RdmaBufferDescriptor registerRdmaMemory(SocketHandle socket, ByteBuffer buffer, int access) throws WsaException;

    /** {@code WSPDeregisterRdmaMemory}: afterwards the peer can no longer reach the buffer. */
    void deregisterRdmaMemory(SocketHandle socket, RdmaBufferDescriptor descriptor) throws WsaException;

    /**
     * {@code WSPRdmaWrite}: copies local registered data into the peer's exposed buffer at
     * {@code targetOffset}.
     */
    void rdmaWrite(SocketHandle socket, WsaBuf[] localBuffers, RdmaBufferDescriptor target, long targetOffset,
            int flags, Overlapped overlapped) throws WsaException;

    /** {@code WSPRdmaRead} (optional: {@code WSAEOPNOTSUPP} when the provider has none). */
    void rdmaRead(SocketHandle socket, WsaBuf[] localBuffers, RdmaBufferDescriptor source, long sourceOffset,
            int flags, Overlapped overlapped) throws WsaException;

    /**
     * {@code WSPMemoryRegistrationCacheCallback} (optional): drops cached registrations of this
     * buffer. {@code WSAEOPNOTSUPP} when the provider keeps no cache.
     */
    void memoryRegistrationCacheCallback(ByteBuffer buffer) throws WsaException;
}
