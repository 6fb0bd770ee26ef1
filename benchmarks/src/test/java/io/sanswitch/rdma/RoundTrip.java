package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.sanswitch.api.SwitchSocket;

/**
 * Three bytes from one end to the other: once each way, both ends have the other's SESSION frame
 * (it goes ahead of the data), so the session can move (docs/migration.md section 2).
 */
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
}
