package io.sanswitch.itests;

import static io.sanswitch.itests.RevisionCycles.WAIT_MILLIS;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;

/**
 * A connection pinned to ucx between two connections of the same switch, open across every cycle of
 * the rdma bundle: with {@code migrate} on it moves to tcp at each withdrawal of the provider and
 * back to ucx when the provider returns (docs/migration.md sections 4 and 6). Both ends are this
 * switch's, so a withdrawal takes the provider from under both at once, as in MigrationIT.
 */
final class MovingConnection implements AutoCloseable {
    final SwitchSocket connector;
    final SwitchSocket acceptor;

    private MovingConnection(SwitchSocket connector, SwitchSocket acceptor) {
        this.connector = connector;
        this.acceptor = acceptor;
    }

    /**
     * Connects to {@code listener} over ucx and makes sure both ends have the other's SESSION, so that
     * the first withdrawal moves the connection instead of resetting it (docs/migration.md section 2).
     */
    static MovingConnection open(SocketSwitch sw, SwitchServerSocket listener) throws Exception {
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket connector = RevisionCycles.connectOnceJoined(sw, listener, "ucx");
        SwitchSocket acceptor = accepted.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        MovingConnection c = new MovingConnection(connector, acceptor);
        assertEquals("the moving connection over ucx: " + connector.choice(), "ucx", connector.provider());
        c.sessionsExchanged();
        return c;
    }

    /**
     * Three one-way trips, acceptor to connector, back, and again: the first shows the connector has
     * the acceptor's HELLO (its SESSION goes ahead of what it sends next), the second that the
     * acceptor has that SESSION (its own goes ahead of what it sends next), the third that the
     * connector has it (docs/migration.md section 2). One round trip each way does not show it: data
     * does not wait for SESSION.
     */
    private void sessionsExchanged() throws Exception {
        oneWay(acceptor, connector);
        oneWay(connector, acceptor);
        oneWay(acceptor, connector);
    }

    private static void oneWay(SwitchSocket from, SwitchSocket to) throws Exception {
        from.send(ByteBuffer.wrap(new byte[] {1, 2, 3})).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        ByteBuffer three = ByteBuffer.allocate(3);
        RevisionCycles.receiveFully(to, three);
        assertEquals("the trip's 3 bytes", ByteBuffer.wrap(new byte[] {1, 2, 3}), three.flip());
    }

    /**
     * Moves so far of the end that moved least: the entries of its history after its first choice and
     * the moves the bounded history no longer lists (docs/rules.md SW-migrate-visible: the last 16).
     */
    int moves() {
        return Math.toIntExact(Math.min(moves(connector), moves(acceptor)));
    }

    private static long moves(SwitchSocket end) {
        return end.history().size() - 1 + end.movesLeftOut();
    }

    /**
     * Waits, bounded, until both ends say they are on {@code provider} and each has moved at least
     * {@code movesAtLeast} times; fails with both histories. After a stop no ucx provider runs, so
     * "tcp" can only mean moved; after a start, "ucx" with a move more than on tcp can only mean moved
     * back. An update and refresh withdraw the provider once or twice (the update's start may bring it
     * back in between), so there at least two moves more, the last one back, are asked for.
     */
    void awaitOn(String provider, int movesAtLeast, String when) throws InterruptedException {
        Eventually.eventually(() -> "the moving connection is not on " + provider + " after " + movesAtLeast + " moves "
                + when + " within " + WAIT_MILLIS + " ms: " + this, WAIT_MILLIS,
                () -> provider.equals(connector.provider()) && provider.equals(acceptor.provider())
                        && moves() >= movesAtLeast);
    }

    /** Both ends' last history entry is a move from {@code from} (docs/rules.md SW-migrate-visible). */
    void assertMovedFrom(String from, String when) {
        for (SwitchSocket end : List.of(connector, acceptor)) {
            ProviderChoice last = end.choice();
            assertEquals("moved " + when + ": " + this, ProviderChoice.Reason.MOVED, last.reason());
            assertEquals("moved from " + from + " " + when + ": " + this, from, last.move().from());
            if (from.equals("tcp")) {
                assertEquals("moved back to ucx " + when + ": " + this, ProviderMove.Cause.PROVIDER_RETURNED,
                        last.move().cause());
            }
        }
    }

    /**
     * 70,000 bytes from the connector, the send completed but not read by the acceptor: they are in
     * the acceptor's switch or still kept for a resume when the provider goes next, and arrive after
     * the move ({@link #receiveAhead}).
     */
    byte[] sendAhead(int seed) throws Exception {
        byte[] data = new byte[70_000];
        new Random(seed).nextBytes(data);
        connector.send(ByteBuffer.wrap(data)).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        return data;
    }

    /** The acceptor reads what {@link #sendAhead} sent and checks it. */
    void receiveAhead(byte[] sent) throws Exception {
        ByteBuffer got = ByteBuffer.allocate(sent.length);
        RevisionCycles.receiveFully(acceptor, got);
        assertArrayEquals("the bytes sent ahead of the move, after it (" + this + ")", sent, got.array());
    }

    /** 70,000 bytes connector to acceptor and echoed back, checked. */
    void checkedBothWays(int seed) throws Exception {
        RevisionCycles.roundTrip(connector, acceptor, seed);
    }

    /** Both ends' providers and the last moves of each (a long run's history has thousands). */
    @Override
    public String toString() {
        return "connector on " + connector.provider() + ", " + tail(connector) + "; acceptor on " + acceptor.provider()
                + ", " + tail(acceptor);
    }

    private static String tail(SwitchSocket end) {
        List<ProviderChoice> h = end.history();
        return moves(end) + " moves, the last " + h.subList(Math.max(0, h.size() - 4), h.size());
    }

    @Override
    public void close() {
        connector.close();
        acceptor.close();
    }
}
