package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchInternals;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.PostedOperation;

/**
 * docs/rules.md SW-migrate-early: the MOVE a resume socket sends for the session it carries goes from a
 * send buffer of its own until the provider is done with it. The socket lives on after the MOVE (its
 * peer's blocks are still read and answered), and a provider may read a send's memory only when it
 * starts the send (UCX does it on its own thread): a frame framed after the MOVE into the same buffer
 * would overwrite it. Seen under MigrationCyclesIT as "DONE for block 50331648": the MOVE's byte read
 * as 03, the DONE frames written over it, the peer's parser four bytes off.
 */
@Timeout(30)
class SwitchLastFrameTest {
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final byte[] PEER_HELLO = {5, 1, 0};

    private final ScriptedTransport rdma = new ScriptedTransport();
    private Switch sw;

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    @Test
    @Checks("SW-migrate-early")
    void framesAfterAMoveDoNotOverwriteItWhileItIsInFlight() throws Exception {
        sw = new Switch(MigrationOff.withSubnets("127.0.0.0/8"));
        sw.bindProvider(new ProviderEngine(rdma), Map.of("sanswitch.transport", "ucx"));
        SwitchSocket socket = SwitchInternals.connectForResume(sw, PEER, "ucx").get(10, TimeUnit.SECONDS);
        ScriptedTransport.ScriptedSocket wire = rdma.sockets.get(rdma.sockets.size() - 1);
        complete(wire, awaitSend(wire, 0)); // our HELLO
        peerSends(wire, PEER_HELLO);

        SwitchInternals.tellPeerMoves(socket);
        PostedOperation move = awaitSend(wire, 0);
        socket.send(ByteBuffer.wrap(new byte[] {'x'})); // framed after the MOVE, which is still in flight
        PostedOperation data = awaitSend(wire, 1);

        assertArrayEquals(new byte[] {14}, bytes(move), "the MOVE as it was posted");
        byte[] after = bytes(data);
        assertEquals(1, after[0], "then a DATA frame: " + java.util.Arrays.toString(after));
        assertTrue(after.length == 6 && after[5] == 'x', java.util.Arrays.toString(after));
    }

    /** The {@code index}th send the switch posted on {@code wire} and the test has not completed. */
    private static PostedOperation awaitSend(ScriptedTransport.ScriptedSocket wire, int index) throws InterruptedException {
        return Eventually.value("the switch's send " + index, () -> {
            List<PostedOperation> sends = wire.held.stream().filter(op -> op.kind() == PostedOperation.Kind.SEND).toList();
            return sends.size() > index ? java.util.Optional.of(sends.get(index)) : java.util.Optional.empty();
        });
    }

    private static byte[] bytes(PostedOperation op) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer b : op.buffers()) {
            byte[] part = new byte[b.remaining()];
            b.duplicate().get(part);
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private void complete(ScriptedTransport.ScriptedSocket wire, PostedOperation op) {
        wire.held.remove(op);
        rdma.events.operationCompleted(op, op.length());
    }

    private void peerSends(ScriptedTransport.ScriptedSocket wire, byte[] bytes) throws InterruptedException {
        PostedOperation op = Eventually.value("the switch posts a receive",
                () -> wire.held.stream().filter(o -> o.kind() == PostedOperation.Kind.RECV).findFirst());
        ByteBuffer into = op.buffers()[0].duplicate();
        into.put(bytes);
        wire.held.remove(op);
        rdma.events.operationCompleted(op, bytes.length);
    }
}
