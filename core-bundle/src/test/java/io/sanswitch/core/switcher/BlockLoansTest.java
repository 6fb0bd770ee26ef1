package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/** docs/rules.md SW-migrate-fence: the bookkeeping of the receives lent to block reads, and the fence of a move. */
class BlockLoansTest {
    private final BlockLoans loans = new BlockLoans();

    private static Connection.PendingReceive receive(int position) {
        ByteBuffer b = ByteBuffer.allocateDirect(1024);
        b.position(position);
        return new Connection.PendingReceive(b, new CompletableFuture<>());
    }

    @Test
    @Checks("SW-migrate-fence")
    void fencedReceivesComeBackOnlyOnceEveryFencedReadIsOverInStreamOrderEmptied() {
        Connection.PendingReceive first = receive(0);
        Connection.PendingReceive second = receive(10);
        Connection.PendingReceive third = receive(20);
        BlockLoans.Loan a = loans.lend(first);
        BlockLoans.Loan b = loans.lend(second);
        BlockLoans.Loan c = loans.lend(third);
        // The second's read succeeded before the move (its position moved past the block), the
        // third's failed: neither was answered, the first's is in flight.
        assertFalse(loans.readOver(b, true));
        second.into().position(10 + 500);
        assertFalse(loans.readOver(c, false));

        loans.fence();
        assertTrue(loans.holds(), "the first's read is in flight");
        assertTrue(loans.lift().isEmpty(), "nothing comes back while it is");
        assertTrue(loans.readOver(a, false), "its completion is the fence's");
        assertFalse(loans.holds());
        List<Connection.PendingReceive> back = loans.lift();
        assertEquals(List.of(first, second, third), back, "in stream order");
        assertEquals(0, first.into().position());
        assertEquals(10, second.into().position(), "emptied of its block: the peer sends it again");
        assertEquals(20, third.into().position());
        assertEquals(0, loans.size());
    }

    @Test
    void answeredReceivesAreNotFenced() {
        BlockLoans.Loan a = loans.lend(receive(0));
        loans.readOver(a, true);
        loans.answered(a);
        loans.fence();
        assertFalse(loans.holds());
        assertTrue(loans.lift().isEmpty());
    }

    @Test
    void anEndedConnectionFailsTheReceivesWhoseReadIsOverAndNoPlaceAnswers() {
        Connection.PendingReceive placed = receive(0);
        Connection.PendingReceive failed = receive(0);
        Connection.PendingReceive inFlight = receive(0);
        loans.readOver(loans.lend(placed), true); // its place in the stream answers it
        loans.readOver(loans.lend(failed), false);
        loans.lend(inFlight); // fails at its read's completion
        assertEquals(List.of(failed), loans.ended());

        BlockLoans fencedLoans = new BlockLoans();
        Connection.PendingReceive readBeforeTheMove = receive(0);
        Connection.PendingReceive stillReading = receive(0);
        fencedLoans.readOver(fencedLoans.lend(readBeforeTheMove), true);
        fencedLoans.lend(stillReading);
        fencedLoans.fence();
        assertEquals(List.of(readBeforeTheMove), fencedLoans.ended(), "its place was dropped at the move");
    }
}
