package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
 * A connection's send buffers over an RDMA provider ({@code SendSlots}), on the scripted provider, which
 * reads a send's memory only when the test completes it, as UCX does on its own thread.
 */
@Timeout(30)
class SwitchSendBuffersTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final byte[] PEER_HELLO = {5, 1, 0};
    private static final int PIECE = 16 * 1024;
    private static final int PIECES = 40;
    /** A send or receive buffer's size (a frame's at most). */
    private static final int BUFFER = 128 * 1024;

    private final ScriptedTransport rdma = new ScriptedTransport();
    private Switch sw;

    @BeforeEach
    void start() throws Exception {
        sw = new Switch(MigrationOff.withSubnets("127.0.0.0/8"));
        sw.bindProvider(new ProviderEngine(rdma), Map.of("sanswitch.transport", "ucx"));
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    /**
     * A quiet connection keeps the send buffer it registered at its start; the first time the stream
     * needs a second, the others it may grow to (four in flight) come with it in one registration, each
     * send from its own part of it. Over UCX every registration is a call handed to the progress thread
     * that the connection's queue waits for: at a move back every new resume socket grows at once.
     */
    @Test
    void aStreamGrowsItsSendBuffersInOneRegistrationAndEachSendGoesFromItsOwnPart() throws Exception {
        SwitchSocket socket = sw.connectAsync(SAN_PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
        ScriptedTransport.ScriptedSocket wire = helloDone();
        Eventually.until("the receive posted again", () -> wire.held.stream().anyMatch(o -> o.kind() == PostedOperation.Kind.RECV));

        byte[] stream = new byte[PIECE * PIECES];
        new Random(7).nextBytes(stream);
        for (int i = 0; i < PIECES; i++) {
            socket.send(ByteBuffer.wrap(stream, i * PIECE, PIECE));
        }
        List<PostedOperation> inFlight = sends(wire, 4);

        List<Integer> regions = rdma.journal("register").stream()
                .map(e -> ((ScriptedTransport.Region) e.subject()).buffer().capacity()).sorted().toList();
        assertEquals(List.of(BUFFER, BUFFER, 3 * BUFFER), regions,
                "the receive buffer and the first send buffer, then the three the stream grew by in one registration");
        ByteArrayOutputStream payloads = new ByteArrayOutputStream();
        for (PostedOperation op : inFlight) {
            ByteBuffer frames = ByteBuffer.wrap(bytes(op));
            while (frames.hasRemaining()) {
                assertEquals(1, frames.get(), "DATA frames");
                byte[] payload = new byte[frames.getInt()];
                frames.get(payload);
                payloads.writeBytes(payload);
            }
        }
        byte[] sent = payloads.toByteArray();
        assertArrayEquals(Arrays.copyOf(stream, sent.length), sent,
                "four sends in flight, each from its own buffer: the stream's bytes in order");
    }

    /**
     * docs/rules.md SW-migrate-early: the MOVE a resume socket sends for the session it carries goes from
     * a send buffer of its own until the provider is done with it. The socket lives on after the MOVE
     * (its peer's blocks are still read and answered), and a frame framed after the MOVE into the same
     * buffer would overwrite it. Seen under MigrationCyclesIT as "DONE for block 50331648": the MOVE's
     * byte read as 03, the DONE frames written over it, the peer's parser four bytes off.
     */
    @Test
    @Checks("SW-migrate-early")
    void framesAfterAMoveDoNotOverwriteItWhileItIsInFlight() throws Exception {
        SwitchSocket socket = SwitchInternals.connectForResume(sw, SAN_PEER, "ucx").get(10, TimeUnit.SECONDS);
        ScriptedTransport.ScriptedSocket wire = helloDone();

        SwitchInternals.tellPeerMoves(socket);
        PostedOperation move = sends(wire, 1).get(0);
        socket.send(ByteBuffer.wrap(new byte[] {'x'})); // framed after the MOVE, which is still in flight
        PostedOperation data = sends(wire, 2).get(1);

        assertArrayEquals(new byte[] {14}, bytes(move), "the MOVE as it was posted");
        byte[] after = bytes(data);
        assertTrue(after.length == 6 && after[0] == 1 && after[5] == 'x', "then a DATA frame: " + Arrays.toString(after));
    }

    /** Completes the switch's HELLO on the connection it opened last and plays the peer's; returns its socket. */
    private ScriptedTransport.ScriptedSocket helloDone() throws InterruptedException {
        ScriptedTransport.ScriptedSocket wire = rdma.sockets.get(rdma.sockets.size() - 1);
        PostedOperation hello = sends(wire, 1).get(0);
        wire.held.remove(hello);
        rdma.events.operationCompleted(hello, hello.length());
        PostedOperation receive = Eventually.value("the switch posts a receive",
                () -> wire.held.stream().filter(o -> o.kind() == PostedOperation.Kind.RECV).findFirst());
        receive.buffers()[0].duplicate().put(PEER_HELLO);
        wire.held.remove(receive);
        rdma.events.operationCompleted(receive, PEER_HELLO.length);
        return wire;
    }

    /** The first {@code n} sends the switch posted on {@code wire} and the test has not completed. */
    private static List<PostedOperation> sends(ScriptedTransport.ScriptedSocket wire, int n) throws InterruptedException {
        return Eventually.value(n + " sends posted", () -> {
            List<PostedOperation> s = wire.held.stream().filter(op -> op.kind() == PostedOperation.Kind.SEND).toList();
            return s.size() >= n ? Optional.of(s.subList(0, n)) : Optional.empty();
        });
    }

    /** What a posted operation's buffers hold now (read as a provider reads them when it starts the send). */
    private static byte[] bytes(PostedOperation op) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer b : op.buffers()) {
            byte[] part = new byte[b.remaining()];
            b.duplicate().get(part);
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
