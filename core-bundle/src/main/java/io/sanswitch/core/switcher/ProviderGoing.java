package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;
import static io.sanswitch.spi.WsaError.WSANOTINITIALISED;
import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

import io.sanswitch.spi.WsaError;

/**
 * The switch's one policy for the codes it sees while a provider goes away (docs/rules.md SW-withdrawn),
 * read from the SPI alone: a provider is going when the switch withdrew it (its service was
 * unregistered, {@code withdrawn}), or when it refuses a call with {@code WSANOTINITIALISED} (its
 * final cleanup runs or ran, docs/rules.md LC-a). A socket it answers with {@code WSAENOTSOCK} was
 * reset by that cleanup (LC-c).
 *
 * <p>For the application a provider going away is one event, whatever each socket saw first (an
 * aborted completion, a reset from the peer's socket in the same provider, a refused call): what
 * was pending was aborted (LC-b), what comes later finds the connection reset.
 */
final class ProviderGoing {
    private ProviderGoing() {
    }

    /**
     * A refused call that the provider's own cleanup answers: the caller leaves the socket's end to
     * the provider's {@code closeSocketHandle} upcall (LC-c-handle), queued behind the calls made before.
     */
    static boolean refusal(WsaError callError, boolean withdrawn) {
        return withdrawn || callError == WSANOTINITIALISED;
    }

    /** As {@link #refusal}, also counting a socket the cleanup already reset ({@code WSAENOTSOCK}). */
    static boolean socketGone(WsaError error, boolean withdrawn) {
        return refusal(error, withdrawn) || error == WSAENOTSOCK;
    }

    /** What the application's pending operations fail with when its connection ends with {@code error}. */
    static WsaError pendingError(WsaError error, boolean withdrawn) {
        return socketGone(error, withdrawn) ? WSA_OPERATION_ABORTED : error;
    }

    /**
     * What the application's later calls fail with when its connection ends with {@code later}: a
     * reset when the provider went, unless the application closed the socket itself ({@code WSAENOTSOCK}).
     */
    static WsaError laterError(WsaError later, boolean withdrawn) {
        if (later == WSAENOTSOCK) {
            return later;
        }
        return refusal(later, withdrawn) ? WSAECONNRESET : later;
    }
}
