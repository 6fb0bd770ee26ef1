package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNABORTED;
import static io.sanswitch.spi.WsaError.WSAECONNRESET;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;
import static io.sanswitch.spi.WsaError.WSANOTINITIALISED;
import static io.sanswitch.spi.WsaError.WSAETIMEDOUT;
import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;

/** The switch's one policy for the codes a provider going away produces (docs/rules.md SW-withdrawn). */
class ProviderGoingTest {

    @Test
    @Checks("SW-withdrawn")
    void aWithdrawnProviderAbortsWhatIsPendingAndResetsWhatComesLaterWhateverItReportedFirst() {
        for (WsaError first : new WsaError[] {WSAECONNRESET, WSAETIMEDOUT, WSAECONNABORTED, WSA_OPERATION_ABORTED}) {
            assertEquals(WSA_OPERATION_ABORTED, ProviderGoing.pendingError(first, true), first.toString());
            assertEquals(WSAECONNRESET, ProviderGoing.laterError(first, true), first.toString());
            assertTrue(ProviderGoing.refusal(first, true), first.toString());
        }
        assertEquals(WSAENOTSOCK, ProviderGoing.laterError(WSAENOTSOCK, true), "the application's own close stays a close");
    }

    @Test
    @Checks("SW-withdrawn")
    void notInitialisedMeansGoingEvenBeforeTheSwitchSawTheWithdrawal() {
        assertTrue(ProviderGoing.refusal(WSANOTINITIALISED, false));
        assertEquals(WSA_OPERATION_ABORTED, ProviderGoing.pendingError(WSANOTINITIALISED, false));
        assertEquals(WSAECONNRESET, ProviderGoing.laterError(WSANOTINITIALISED, false));
    }

    @Test
    @Checks("SW-withdrawn")
    void aSocketTheCleanupResetIsGoneButNotARefusalToWaitFor() {
        assertTrue(ProviderGoing.socketGone(WSAENOTSOCK, false));
        assertFalse(ProviderGoing.refusal(WSAENOTSOCK, false));
        assertEquals(WSA_OPERATION_ABORTED, ProviderGoing.pendingError(WSAENOTSOCK, false));
    }

    @Test
    @Checks("SW-withdrawn")
    void aRunningProvidersErrorsPassUnchanged() {
        for (WsaError e : new WsaError[] {WSAECONNRESET, WSAETIMEDOUT, WSAECONNABORTED}) {
            assertFalse(ProviderGoing.socketGone(e, false), e.toString());
            assertEquals(e, ProviderGoing.pendingError(e, false));
            assertEquals(e, ProviderGoing.laterError(e, false));
        }
    }
}
