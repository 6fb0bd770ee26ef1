package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;

/** What {@code san:sockets} shows of a connection's providers (docs/rules.md SW-migrate-visible): its REASON column. */
class ProviderHistoryTextTest {
    private static final InetSocketAddress LOCAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7001);
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40123);
    private static final Instant AT = Instant.parse("2026-12-04T08:00:00Z");

    private static ProviderChoice moved(ProviderMove.Cause cause, long millis, WsaError error) {
        return ProviderChoice.moved("tcp", new ProviderMove("ucx", cause, AT, Duration.ofMillis(millis).plusNanos(400_000)),
                error);
    }

    @Test
    @Checks("SW-migrate-visible")
    void aConnectionThatNeverMovedReadsAsItsChoiceAsBefore() {
        for (ProviderChoice c : List.of(new ProviderChoice("ucx", Reason.SAN_SUBNET, null),
                new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAECONNREFUSED),
                new ProviderChoice("ucx", Reason.ACCEPTED, null))) {
            assertEquals(Switch.describe(c, LOCAL, PEER), Switch.describe(List.of(c), LOCAL, PEER));
        }
        assertEquals("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet",
                Switch.describe(List.of(new ProviderChoice("ucx", Reason.SAN_SUBNET, null)), LOCAL, PEER));
    }

    @Test
    @Checks("SW-migrate-visible")
    void eachMoveFollowsTheFirstChoiceWithItsCauseAndPause() {
        assertEquals("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet; moved ucx -> tcp (provider withdrawn, paused 12 ms)",
                Switch.describe(List.of(new ProviderChoice("ucx", Reason.SAN_SUBNET, null),
                        moved(ProviderMove.Cause.PROVIDER_WITHDRAWN, 12, null)), LOCAL, PEER));
        assertEquals("ACCEPTED: accepted on port 7001; moved ucx -> tcp (connection failed: WSAECONNRESET (10054), paused 0 ms)",
                Switch.describe(List.of(new ProviderChoice("ucx", Reason.ACCEPTED, null),
                        moved(ProviderMove.Cause.CONNECTION_FAILED, 0, WsaError.WSAECONNRESET)), LOCAL, PEER));
        assertEquals("PINNED: the application asked for ucx; moved ucx -> tcp (connection failed, paused 3 ms)",
                Switch.describe(List.of(new ProviderChoice("ucx", Reason.PINNED, null),
                        moved(ProviderMove.Cause.CONNECTION_FAILED, 3, null)), LOCAL, PEER));
        assertEquals("MOVED: moved ucx -> tcp (provider withdrawn, paused 12 ms)",
                Switch.describe(moved(ProviderMove.Cause.PROVIDER_WITHDRAWN, 12, null), LOCAL, PEER), "the move alone");
    }

    @Test
    @Checks("SW-migrate-visible")
    void aChoiceCarriesAMoveExactlyWhenItsReasonIsMoved() {
        ProviderMove m = new ProviderMove("ucx", ProviderMove.Cause.PROVIDER_WITHDRAWN, AT, Duration.ofMillis(5));
        assertThrows(IllegalArgumentException.class, () -> new ProviderChoice("tcp", Reason.MOVED, null));
        assertThrows(IllegalArgumentException.class, () -> new ProviderChoice("tcp", Reason.SAN_SUBNET, null, m));
        assertThrows(IllegalArgumentException.class,
                () -> new ProviderMove("ucx", ProviderMove.Cause.PROVIDER_WITHDRAWN, AT, Duration.ofMillis(-1)));
        assertEquals("tcp (MOVED from ucx: PROVIDER_WITHDRAWN, paused 5 ms)", ProviderChoice.moved("tcp", m, null).toString());
        assertEquals("tcp (FELL_BACK after WSAECONNREFUSED (10061))",
                new ProviderChoice("tcp", Reason.FELL_BACK, WsaError.WSAECONNREFUSED).toString(), "as before");
    }
}
