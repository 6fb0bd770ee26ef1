package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.sanswitch.api.SwitchSocket;

/** Three bytes from one end to the other, and the trips after which a session can move. */
final class RoundTrip {
    private RoundTrip() {
    }

    static void roundTrip(SwitchSocket from, SwitchSocket to) throws Exception {
        from.send(ByteBuffer.wrap(new byte[] {1, 2, 3})).toCompletableFuture().get(20, TimeUnit.SECONDS);
        ByteBuffer three = ByteBuffer.allocate(3);
        while (three.hasRemaining()) {
            to.receive(three).toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
    }

    /**
     * Trips until both ends have the other's SESSION frame, so the session can move (docs/migration.md
     * section 2). One each way is not enough: data does not wait for SESSION, so the connector's first
     * bytes can go ahead of its SESSION and the acceptor's answer ahead of its own (seen as a connection
     * reset instead of moved by a withdrawal right after). Acceptor to connector: the connector has the
     * acceptor's HELLO, its SESSION goes ahead of what it sends next; back: the acceptor has that
     * SESSION, its own goes ahead of what it sends next; again: the connector has it.
     */
    static void sessionsExchanged(SwitchSocket connector, SwitchSocket acceptor) throws Exception {
        roundTrip(acceptor, connector);
        roundTrip(connector, acceptor);
        roundTrip(acceptor, connector);
    }
}
