package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import org.junit.jupiter.api.Test;

class WsaErrorTest {

    @Test
    void codesAreTheWinsockNumbersOfSpecSection7() {
        assertEquals(995, WsaError.WSA_OPERATION_ABORTED.code());
        assertEquals(996, WsaError.WSA_IO_INCOMPLETE.code());
        assertEquals(997, WsaError.WSA_IO_PENDING.code());
        assertEquals(10014, WsaError.WSAEFAULT.code());
        assertEquals(10022, WsaError.WSAEINVAL.code());
        assertEquals(10038, WsaError.WSAENOTSOCK.code());
        assertEquals(10045, WsaError.WSAEOPNOTSUPP.code());
        assertEquals(10050, WsaError.WSAENETDOWN.code());
        assertEquals(10054, WsaError.WSAECONNRESET.code());
        assertEquals(10055, WsaError.WSAENOBUFS.code());
        assertEquals(10061, WsaError.WSAECONNREFUSED.code());
        assertEquals(10067, WsaError.WSAEPROCLIM.code());
        assertEquals(10091, WsaError.WSASYSNOTREADY.code());
        assertEquals(10092, WsaError.WSAVERNOTSUPPORTED.code());
        assertEquals(10093, WsaError.WSANOTINITIALISED.code());
        assertEquals(11002, WsaError.WSATRY_AGAIN.code());
    }

    @Test
    void everyCodeMapsBackToItsConstant() {
        for (WsaError e : WsaError.values()) {
            assertEquals(e, WsaError.fromCode(e.code()));
        }
        assertThrows(IllegalArgumentException.class, () -> WsaError.fromCode(12345));
    }

    @Test
    @Checks({"ERR-never-inprogress", "LC-no-einval"})
    void noCallMayReportWsaEInProgressAndCleanupNeverWsaEInval() {
        for (SpiCall call : SpiCall.values()) {
            assertFalse(call.allows(WsaError.WSAEINPROGRESS), call.name());
            assertTrue(call.allows(call.fallback()), call.name());
        }
        assertFalse(SpiCall.CLEANUP.allows(WsaError.WSAEINVAL));
        assertFalse(SpiCall.LISTEN.allows(WsaError.WSAEADDRINUSE));
        assertFalse(SpiCall.CLOSE_SOCKET.allows(WsaError.WSAEWOULDBLOCK));
    }

    @Test
    void fdBitsAreThoseOfSpecSection5() {
        assertEquals(0x008, NetworkEvents.FD_ACCEPT);
        assertEquals(0x010, NetworkEvents.FD_CONNECT);
        assertEquals(0x3FF, NetworkEvents.FD_ALL_EVENTS);
        assertEquals(10, NetworkEvents.FD_MAX_EVENTS);
    }
}
