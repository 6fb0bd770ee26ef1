package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.testing.Checks;

/**
 * docs/rules.md SW-migrate-visible: a connection's provider history is bounded (the first choice, the
 * last {@value ProviderHistory#MOVES_KEPT} moves and the count of those left out between), however
 * often it moves, and still reads truthfully in {@code san:sockets}.
 */
class ProviderHistoryTest {
    private static final InetSocketAddress LOCAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7001);
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40123);
    private static final Instant AT = Instant.parse("2026-12-04T08:00:00Z");
    private static final ProviderChoice FIRST = new ProviderChoice("ucx", Reason.SAN_SUBNET, null);

    /** Move {@code n} (from 1): to tcp and back to ucx in turn, each with a pause of its own to tell them apart. */
    private static ProviderChoice move(int n) {
        boolean toTcp = n % 2 == 1;
        ProviderMove m = new ProviderMove(toTcp ? "ucx" : "tcp",
                toTcp ? ProviderMove.Cause.PROVIDER_WITHDRAWN : ProviderMove.Cause.PROVIDER_RETURNED,
                AT.plusSeconds(n), Duration.ofMillis(n));
        return ProviderChoice.moved(toTcp ? "tcp" : "ucx", m, null);
    }

    /** The 4,009 moves of the long leak run (1,000 bundle cycles) keep 17 entries, not 4,010. */
    @Test
    @Checks("SW-migrate-visible")
    void manyMovesKeepTheFirstChoiceAndTheLastMovesAndCountTheRest() {
        int moves = 4009;
        ProviderHistory h = ProviderHistory.of(FIRST);
        List<ProviderChoice> all = new ArrayList<>(List.of(FIRST));
        for (int n = 1; n <= moves; n++) {
            h = h.moved(move(n));
            all.add(move(n));
            assertTrue(h.choices().size() <= ProviderHistory.MOVES_KEPT + 1, n + " moves: " + h.choices().size() + " kept");
            assertEquals(move(n), h.last(), "the choice in force is the last move");
            assertEquals(n, h.moves(), "every move counted");
        }
        assertEquals(ProviderHistory.MOVES_KEPT + 1, h.choices().size());
        assertSame(FIRST, h.choices().get(0), "the first choice stays: it says which side connected");
        assertEquals(all.subList(all.size() - ProviderHistory.MOVES_KEPT, all.size()),
                h.choices().subList(1, h.choices().size()), "the last moves, oldest first");
        assertEquals(moves - ProviderHistory.MOVES_KEPT, h.leftOut());
        assertThrows(UnsupportedOperationException.class, () -> ProviderHistory.of(FIRST).choices().add(move(1)));
    }

    @Test
    @Checks("SW-migrate-visible")
    void nothingIsLeftOutUpToTheBoundAndOneMoveBeyondIt() {
        ProviderHistory h = ProviderHistory.of(FIRST);
        assertEquals(List.of(FIRST), h.choices());
        assertEquals(FIRST, h.last());
        for (int n = 1; n <= ProviderHistory.MOVES_KEPT; n++) {
            h = h.moved(move(n));
        }
        assertEquals(0, h.leftOut());
        assertEquals(ProviderHistory.MOVES_KEPT + 1, h.choices().size());
        assertEquals(move(1), h.choices().get(1));
        ProviderHistory beyond = h.moved(move(ProviderHistory.MOVES_KEPT + 1));
        assertEquals(1, beyond.leftOut());
        assertEquals(move(2), beyond.choices().get(1), "the oldest move is the one left out");
        assertEquals(ProviderHistory.MOVES_KEPT, h.choices().size() - 1, "the history it came from is unchanged");
        assertThrows(IllegalArgumentException.class, () -> ProviderHistory.of(FIRST).moved(FIRST), "only a move");
    }

    /** {@code san:sockets}: the first choice, then the count left out in their place, then the moves kept. */
    @Test
    @Checks("SW-migrate-visible")
    void theTextSaysHowManyEarlierMovesAreLeftOut() {
        ProviderHistory h = ProviderHistory.of(FIRST);
        for (int n = 1; n <= ProviderHistory.MOVES_KEPT; n++) {
            h = h.moved(move(n));
        }
        assertEquals(Switch.describe(h.choices(), LOCAL, PEER), h.describe(LOCAL, PEER), "as before up to the bound");
        assertTrue(!h.describe(LOCAL, PEER).contains("earlier"), h.describe(LOCAL, PEER));

        h = h.moved(move(ProviderHistory.MOVES_KEPT + 1));
        assertTrue(h.describe(LOCAL, PEER).startsWith("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet; \u2026 1 earlier move \u2026; "
                + "moved tcp -> ucx (provider returned, paused 2 ms); moved ucx -> tcp (provider withdrawn, paused 3 ms); "),
                h.describe(LOCAL, PEER));

        for (int n = ProviderHistory.MOVES_KEPT + 2; n <= 3996; n++) {
            h = h.moved(move(n));
        }
        String text = h.describe(LOCAL, PEER);
        assertTrue(text.startsWith("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet; \u2026 3,980 earlier moves \u2026; "
                + "moved ucx -> tcp (provider withdrawn, paused 3981 ms); "), text);
        assertTrue(text.endsWith("; moved tcp -> ucx (provider returned, paused 3996 ms)"), text);
        assertEquals(ProviderHistory.MOVES_KEPT + 1, text.split("; ").length - 1, "the first choice, the count and 16 moves: " + text);
    }
}
