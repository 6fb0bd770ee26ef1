package io.sanswitch.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * What the provider calls back: the upcalls of {@code WSPUPCALLTABLEEX} that a SAN provider needs
 * (docs/rules.md BG-upcalls). Implemented by the switch, handed to {@code startupEx}; when the provider is started
 * several times it uses the most recently supplied table (docs/rules.md Q11).
 *
 * <p><b>Threads.</b> Upcalls arrive on the provider's or backend's threads, or on the thread of an
 * SPI call that caused them (accept's condition function, closeSocket's aborted completions, the
 * final cleanup's aborted completions). An upcall must not block. It may call back into the
 * provider, including {@code cleanup} (docs/rules.md LC-reentrant); the provider holds no lock while it upcalls.
 *
 * <p>{@code @ConsumerType}: implemented outside the provider, so adding a method is a major
 * change.
 */
@ConsumerType
public interface UpcallTable {

    /**
     * {@code WPUCreateSocketHandle}: the switch's handle for a new provider socket, which the
     * provider passes on every later upcall for that socket.
     *
     * @throws WsaException if the switch cannot make one (for example {@code WSAENOBUFS}); the
     *     provider then fails the socket or accept call
     */
    long createSocketHandle(SocketHandle providerSocket) throws WsaException;

    /**
     * {@code WPUCloseSocketHandle}: the last upcall the provider makes for a socket (docs/rules.md SK-handle),
     * made exactly once per handle from {@link #createSocketHandle}, by closeSocket or by the
     * final cleanup.
     */
    void closeSocketHandle(long switchHandle);

    /**
     * {@code WPUCompleteOverlappedRequest}: an operation started in
     * {@link Overlapped.Mode#NOTIFY} mode has ended. Made exactly once per request, after the
     * result was published on the overlapped and after the memory the operation used was
     * released (docs/rules.md LC-b-memory).
     */
    void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result);

    /**
     * {@code WPUSetEvent}: an FD_* event the switch selected was recorded on a socket. Never made
     * while the final cleanup runs (docs/rules.md LC-a).
     */
    void setEvent(EventHandle event);

    /** {@code WPUResetEvent}: by {@code enumNetworkEvents} and by a successful {@code accept}. */
    void resetEvent(EventHandle event);
}
