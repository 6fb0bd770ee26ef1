package io.sanswitch.spi;

import static io.sanswitch.spi.WsaError.*;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Every call of the SAN SPI with the exact list of errors it may fail with: the error column of
 * docs/rules.md BG-calls/RD-extensions (including the codes marked <i>[not seen]</i>), narrowed where the WSD page says
 * "never", plus two codes from docs/rules.md Q8 that every call needing a running provider may use:
 * {@code WSANOTINITIALISED} (no startup outstanding, or racing the final cleanup) and, for calls
 * on a socket, {@code WSAENOTSOCK} (a descriptor of an earlier run or a closed one). The
 * registration calls keep their own narrower lists (docs/rules.md Q23: a dead registration is
 * {@code WSAEINVAL}). {@code WSAEINPROGRESS} is in no list (docs/rules.md ERR-never-inprogress).
 *
 * <p>The provider holds itself to these lists: an error outside a call's list is replaced by the
 * call's {@linkplain #fallback() fallback} and logged. The conformance tests hold every call to its
 * list.
 */
public enum SpiCall {
    STARTUP_EX(WSASYSNOTREADY, WSASYSNOTREADY, WSAVERNOTSUPPORTED, WSAEPROCLIM, WSAEFAULT),
    /** Never {@code WSAEINVAL} (docs/rules.md LC-no-einval). */
    CLEANUP(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN),
    SOCKET(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEAFNOSUPPORT, WSAEMFILE, WSAENOBUFS,
            WSAEPROTONOSUPPORT, WSAEPROTOTYPE, WSAESOCKTNOSUPPORT, WSAEINVAL),
    BIND(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEADDRNOTAVAIL, WSAEFAULT, WSAEADDRINUSE,
            WSAEINVAL, WSAENOBUFS, WSAENOTSOCK),
    /** Never {@code WSAEADDRINUSE}, {@code WSAEOPNOTSUPP}. */
    LISTEN(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEINVAL, WSAEISCONN, WSAEMFILE, WSAENOBUFS,
            WSAENOTSOCK),
    ACCEPT(WSAENETDOWN, WSANOTINITIALISED, WSAECONNREFUSED, WSAENETDOWN, WSAECONNRESET, WSAEFAULT,
            WSAEINVAL, WSAEMFILE, WSAENOBUFS, WSAENOTSOCK, WSAEOPNOTSUPP, WSATRY_AGAIN, WSAEWOULDBLOCK,
            WSAEACCES),
    CONNECT(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEALREADY, WSAECONNREFUSED, WSAECONNRESET,
            WSAEHOSTUNREACH, WSAETIMEDOUT, WSAEADDRINUSE, WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAEFAULT,
            WSAEINVAL, WSAEISCONN, WSAENETUNREACH, WSAENOBUFS, WSAENOTSOCK, WSAEOPNOTSUPP, WSAEACCES),
    /** Never {@code WSAEWOULDBLOCK}: the switch does the graceful part itself. */
    CLOSE_SOCKET(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAENOTSOCK),
    EVENT_SELECT(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEINVAL, WSAENOTSOCK),
    ENUM_NETWORK_EVENTS(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEINVAL, WSAENOTSOCK),
    /** Plus, when the operation itself failed, that operation's error ({@link #COMPLETION}). */
    GET_OVERLAPPED_RESULT(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAENOTSOCK, WSA_INVALID_HANDLE,
            WSA_INVALID_PARAMETER, WSA_IO_INCOMPLETE, WSAEFAULT,
            // the operation's own error, as listed for COMPLETION
            WSA_OPERATION_ABORTED, WSAECONNRESET, WSAECONNABORTED, WSAENETRESET, WSAENOTCONN, WSAEDISCON,
            WSAEMSGSIZE, WSAENOBUFS, WSAESHUTDOWN, WSAEINVAL),
    IOCTL(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEFAULT, WSAEINVAL, WSAENOTSOCK, WSAEOPNOTSUPP,
            WSAEWOULDBLOCK),
    GET_SOCK_OPT(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEFAULT, WSAEINVAL, WSAENOPROTOOPT,
            WSAENOTSOCK),
    SET_SOCK_OPT(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEFAULT, WSAEINVAL, WSAENETRESET,
            WSAENOPROTOOPT, WSAENOTCONN, WSAENOTSOCK),
    RECV(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAENOTCONN, WSAENETRESET, WSAEFAULT, WSAENOTSOCK,
            WSAEOPNOTSUPP, WSAESHUTDOWN, WSAEMSGSIZE, WSAEINVAL, WSAECONNABORTED, WSAECONNRESET, WSAEDISCON,
            WSAEWOULDBLOCK),
    SEND(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAEACCES, WSAEFAULT, WSAENETRESET, WSAENOBUFS,
            WSAENOTCONN, WSAENOTSOCK, WSAEOPNOTSUPP, WSAESHUTDOWN, WSAEMSGSIZE, WSAEINVAL, WSAECONNABORTED,
            WSAECONNRESET, WSAEWOULDBLOCK),
    REGISTER_MEMORY(WSAENOBUFS, WSANOTINITIALISED, WSAENOBUFS, WSAEFAULT, WSAEINVAL, WSAENOTCONN,
            WSAENOTSOCK),
    /** {@code WSAEINVAL} only (unknown handle, or still used by a transfer), plus Q8. */
    DEREGISTER_MEMORY(WSAEINVAL, WSANOTINITIALISED, WSAEINVAL),
    REGISTER_RDMA_MEMORY(WSAENOBUFS, WSANOTINITIALISED, WSAENOBUFS, WSAEFAULT, WSAEINVAL, WSAENOTCONN,
            WSAENOTSOCK, WSAEOPNOTSUPP),
    /** {@code WSAEINVAL} only, plus Q8. */
    DEREGISTER_RDMA_MEMORY(WSAEINVAL, WSANOTINITIALISED, WSAEINVAL, WSAEOPNOTSUPP),
    /** The generic overlapped-send set of docs/rules.md Q14. */
    RDMA_WRITE(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAENOTCONN, WSAENOTSOCK, WSAEFAULT, WSAEINVAL,
            WSAEMSGSIZE, WSAENOBUFS, WSAECONNRESET, WSAECONNABORTED, WSAENETRESET, WSAEOPNOTSUPP),
    /** As {@link #RDMA_WRITE}; {@code WSAEOPNOTSUPP} when the provider has no RDMA read. */
    RDMA_READ(WSAENETDOWN, WSANOTINITIALISED, WSAENETDOWN, WSAENOTCONN, WSAENOTSOCK, WSAEFAULT, WSAEINVAL,
            WSAEMSGSIZE, WSAENOBUFS, WSAECONNRESET, WSAECONNABORTED, WSAENETRESET, WSAEOPNOTSUPP),
    MEMORY_REGISTRATION_CACHE_CALLBACK(WSAEINVAL, WSANOTINITIALISED, WSAEFAULT, WSAEINVAL, WSAEOPNOTSUPP),
    /**
     * Not a call: the statuses an overlapped operation may complete with (docs/rules.md BG-overlapped, Q14), held like a
     * call's list.
     */
    COMPLETION(WSAECONNABORTED, WSA_OPERATION_ABORTED, WSAECONNRESET, WSAECONNABORTED, WSAENETRESET,
            WSAENETDOWN, WSAENOTCONN, WSAEDISCON, WSAEMSGSIZE, WSAENOBUFS, WSAESHUTDOWN, WSAEFAULT, WSAEINVAL);

    private final WsaError fallback;
    private final Set<WsaError> allowed;

    SpiCall(WsaError fallback, WsaError first, WsaError... rest) {
        EnumSet<WsaError> set = EnumSet.of(first, rest);
        if (!set.contains(fallback)) {
            throw new AssertionError(name() + ": fallback " + fallback + " not in its own list");
        }
        if (set.contains(WSAEINPROGRESS)) {
            throw new AssertionError(name() + ": WSAEINPROGRESS is never returned by a SAN provider");
        }
        this.fallback = fallback;
        this.allowed = Collections.unmodifiableSet(set);
    }

    /** The errors this call may fail with. */
    public Set<WsaError> allowedErrors() {
        return allowed;
    }

    public boolean allows(WsaError error) {
        return allowed.contains(error);
    }

    /**
     * The error reported in place of one this call may not use (for example a backend failure
     * with a code outside the list); always one of {@link #allowedErrors()}.
     */
    public WsaError fallback() {
        return fallback;
    }
}
