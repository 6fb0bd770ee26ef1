package io.sanswitch.spi;

import java.util.HashMap;
import java.util.Map;

/**
 * The Winsock error codes a SAN service provider speaks, with their exact Winsock numbers
 * (docs/rules.md BG-constants). Every failure of an SPI call carries exactly one of these, inside a
 * {@link WsaException}; which ones a call may use is fixed by {@link SpiCall#allowedErrors()}.
 *
 * <p>The values 6..997 are the matching Win32 error numbers; everything from 10000 on is
 * {@code WSABASEERR} (10000) + n. {@code SOCKET_ERROR} and {@code INVALID_SOCKET} are return
 * markers, not errors, and have no constant here: in Java a failed call throws.
 */
public enum WsaError {
    WSA_INVALID_HANDLE(6),
    WSA_NOT_ENOUGH_MEMORY(8),
    WSA_INVALID_PARAMETER(87),
    /** An overlapped operation was cancelled by closeSocket or by the final cleanup. */
    WSA_OPERATION_ABORTED(995),
    /** A polled operation has not finished yet ({@code getOverlappedResult} without wait). */
    WSA_IO_INCOMPLETE(996),
    /** An overlapped operation was started and completes later. */
    WSA_IO_PENDING(997),
    WSAEINTR(10004),
    WSAEBADF(10009),
    WSAEACCES(10013),
    WSAEFAULT(10014),
    WSAEINVAL(10022),
    WSAEMFILE(10024),
    WSAEWOULDBLOCK(10035),
    /** Never returned by a SAN provider (docs/rules.md ERR-never-inprogress); present only so the table is complete. */
    WSAEINPROGRESS(10036),
    WSAEALREADY(10037),
    WSAENOTSOCK(10038),
    WSAEDESTADDRREQ(10039),
    WSAEMSGSIZE(10040),
    WSAEPROTOTYPE(10041),
    WSAENOPROTOOPT(10042),
    WSAEPROTONOSUPPORT(10043),
    WSAESOCKTNOSUPPORT(10044),
    WSAEOPNOTSUPP(10045),
    WSAEPFNOSUPPORT(10046),
    WSAEAFNOSUPPORT(10047),
    WSAEADDRINUSE(10048),
    WSAEADDRNOTAVAIL(10049),
    /** The network subsystem failed. */
    WSAENETDOWN(10050),
    WSAENETUNREACH(10051),
    WSAENETRESET(10052),
    WSAECONNABORTED(10053),
    WSAECONNRESET(10054),
    /** No buffer space; the WSD pages spell it "WSANOBUFS" (docs/rules.md Q13). */
    WSAENOBUFS(10055),
    WSAEISCONN(10056),
    WSAENOTCONN(10057),
    WSAESHUTDOWN(10058),
    WSAETIMEDOUT(10060),
    WSAECONNREFUSED(10061),
    WSAEHOSTUNREACH(10065),
    WSAEPROCLIM(10067),
    WSASYSNOTREADY(10091),
    WSAVERNOTSUPPORTED(10092),
    /** No successful startupEx is outstanding. */
    WSANOTINITIALISED(10093),
    WSAEDISCON(10101),
    WSATRY_AGAIN(11002);

    private static final Map<Integer, WsaError> BY_CODE = new HashMap<>();

    static {
        for (WsaError e : values()) {
            BY_CODE.put(e.code, e);
        }
    }

    private final int code;

    WsaError(int code) {
        this.code = code;
    }

    /** The Winsock number of this error, e.g. 10093 for {@link #WSANOTINITIALISED}. */
    public int code() {
        return code;
    }

    /**
     * The error with the given Winsock number.
     *
     * @throws IllegalArgumentException if no constant has that number
     */
    public static WsaError fromCode(int code) {
        WsaError e = BY_CODE.get(code);
        if (e == null) {
            throw new IllegalArgumentException("not a Winsock error code known to the SAN SPI: " + code);
        }
        return e;
    }

    @Override
    public String toString() {
        return name() + " (" + code + ")";
    }
}
