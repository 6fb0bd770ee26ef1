package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;

/**
 * The sessions this switch parked for a move (docs/migration.md section 4): the acceptor's side of a
 * migratable connection whose RDMA provider went away waits here for its connector's dial on the
 * resume port. One entry per parked connection of this switch, so bounded by them; any thread.
 */
final class ParkedSessions implements SessionDirectory {
    private record Waiting(Parked parked, CompletableFuture<ResumeDial.Resumed> resumed) {
    }

    private final ConcurrentHashMap<SessionId, Waiting> waiting = new ConcurrentHashMap<>();
    /** The sessions still running here, for a proven dial that comes before this side noticed the move. */
    private final Function<SessionId, Parked> live;

    ParkedSessions(Function<SessionId, Parked> live) {
        this.live = live;
    }

    ParkedSessions() {
        this(id -> null);
    }

    /** Parks session {@code id}: the result completes with the resumed socket, or fails when {@link #giveUp given up}. */
    CompletableFuture<ResumeDial.Resumed> park(SessionId id, SessionKey key, long received) {
        Waiting w = new Waiting(new Parked(key, received), new CompletableFuture<>());
        waiting.put(id, w);
        return w.resumed;
    }

    /** No resume came (docs/rules.md SW-migrate-death): the parked session fails with {@code WSAECONNRESET}. */
    void giveUp(SessionId id, String why) {
        Waiting w = waiting.remove(id);
        if (w != null) {
            w.resumed.completeExceptionally(new WsaException(WSAECONNRESET, why));
        }
    }

    @Override
    public Parked find(SessionId id) {
        Waiting w = waiting.get(id);
        return w != null ? w.parked : live.apply(id);
    }

    @Override
    public boolean resumed(SessionId id, long peerReceived, SwitchSocket socket) {
        Waiting w = waiting.remove(id);
        return w != null && w.resumed.complete(new ResumeDial.Resumed(socket, peerReceived));
    }

    /** Sessions parked now. */
    int size() {
        return waiting.size();
    }
}
