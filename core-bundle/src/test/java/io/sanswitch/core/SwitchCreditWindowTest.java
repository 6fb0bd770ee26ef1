package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.PostedOperation;

/**
 * docs/rules.md SW-credit on a scripted RDMA provider, the peer played by the test with frames built
 * by hand: with both HELLOs carrying the credit flag the switch sends no more than the peer's 8 MiB
 * window ahead of its CREDITs, grants its own window as its application consumes, and keeps reading
 * the peer's frames while more than its high water waits for its application, so a control frame
 * behind that data still gets through.
 */
@Timeout(60)
class SwitchCreditWindowTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final int WINDOW = 8 << 20;
    /** The peer's HELLO: version 1, write flow, credits. */
    private static final byte[] PEER_HELLO_CREDITS = {5, 1, 4};
    /** DATA the peer sends per receive: well within one receive buffer. */
    private static final int PEER_DATA = 64 * 1024;

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ProviderEngine engine = new ProviderEngine(rdma);
    private Switch sw;
    private SwitchSocket socket;
    private ScriptedTransport.ScriptedSocket wire;

    @BeforeEach
    void connect() throws Exception {
        // Our HELLO's bytes are asserted: without migration its flags lack FLAG_MIGRATES (docs/rules.md
        // SW-migrate-negotiated); the credit window is the same with it.
        sw = new Switch(MigrationOff.withSubnets("127.0.0.0/8"));
        sw.bindProvider(engine, Map.of("sanswitch.transport", "ucx"));
        socket = sw.connectAsync(SAN_PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
        wire = rdma.sockets.get(rdma.sockets.size() - 1);
        assertArrayEquals(new byte[] {5, 1, 4}, completeSend(), "our HELLO offers credits");
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    @Test
    @Checks("SW-credit")
    void theSenderKeepsToThePeersWindowAndGoesOnAtItsCredit() throws Exception {
        peerSends(PEER_HELLO_CREDITS);
        int total = WINDOW + (1 << 20) + 7;
        List<CompletableFuture<Integer>> sends = sendInSmallPieces(total);

        long data = 0;
        while (data < WINDOW) {
            data += dataPayloads(completeSend());
        }
        assertEquals(WINDOW, data, "DATA up to the window exactly (the last frame cut to fit)");
        // A barrier: once the application has the peer's byte, everything the switch did on the
        // completions before it (the pumps of its sends) has run.
        CompletableFuture<Integer> got = socket.receive(ByteBuffer.allocate(8)).toCompletableFuture();
        peerSends(data(1));
        assertEquals(1, got.get(10, TimeUnit.SECONDS));
        assertTrue(held(PostedOperation.Kind.SEND).isEmpty(), "nothing more posted with the window full");
        assertFalse(sends.get(sends.size() - 1).isDone(), "the last send waits for credit");

        peerSends(credit(2 << 20));
        while (data < total) {
            data += dataPayloads(completeSend());
        }
        assertEquals(total, data);
        for (CompletableFuture<Integer> s : sends) {
            s.get(10, TimeUnit.SECONDS);
        }
        assertTrue(socket.isOpen());
    }

    /**
     * The deadlock this rule removes: a send that completes only at a control frame of the peer
     * (here the CREDIT that makes room for its last bytes) while more than the high water (8 MiB) of
     * the peer's data waits unread for the application, the control frame behind it.
     */
    @Test
    @Checks("SW-credit")
    void theReceiverKeepsReadingFramesWhileItsApplicationHoldsTheWholeWindow() throws Exception {
        peerSends(PEER_HELLO_CREDITS);
        List<CompletableFuture<Integer>> sends = sendInSmallPieces(WINDOW + 1);
        long data = 0;
        while (data < WINDOW) {
            data += dataPayloads(completeSend());
        }
        for (long sent = 0; sent < WINDOW; sent += PEER_DATA) {
            peerSends(data(PEER_DATA));
        }
        peerSends(credit(1));
        assertEquals(1, dataPayloads(completeSend()), "the last byte, after the CREDIT read behind 8 MiB of data");
        sends.get(sends.size() - 1).get(10, TimeUnit.SECONDS);

        // The application reads: a CREDIT per quarter of the window consumed, nothing else in it.
        ByteBuffer into = ByteBuffer.allocate(WINDOW / 4);
        while (into.hasRemaining()) {
            socket.receive(into).toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        ByteBuffer credit = ByteBuffer.wrap(completeSend());
        assertEquals(5, credit.remaining());
        assertEquals(12, credit.get(), "CREDIT");
        assertEquals(WINDOW / 4, credit.getInt());
    }

    @Test
    @Checks("SW-credit")
    void dataBeyondTheGrantedWindowIsAProtocolError() throws Exception {
        peerSends(PEER_HELLO_CREDITS);
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(64)).toCompletableFuture();
        for (long sent = 0; sent < WINDOW; sent += PEER_DATA) {
            peerSends(data(PEER_DATA));
        }
        assertEquals(64, pending.get(10, TimeUnit.SECONDS));
        // 64 bytes were consumed, less than a quarter: no CREDIT, so one byte more is beyond the window.
        peerSends(data(1));
        assertEquals(WsaError.WSAECONNRESET, failure(socket.send(ByteBuffer.allocate(1)), 10));
    }

    @Test
    @Checks("SW-credit")
    void aCreditForMoreThanWasSentIsAProtocolError() throws Exception {
        peerSends(PEER_HELLO_CREDITS);
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(64)).toCompletableFuture();
        peerSends(credit(1));
        assertEquals(WsaError.WSAECONNRESET, failure(pending, 10));
    }

    @Test
    @Checks("SW-credit")
    void aCreditWithoutTheFlagIsAProtocolErrorAndSuchAPeerIsNotHeldToTheWindow() throws Exception {
        peerSends(new byte[] {5, 1, 0}); // a switch from before credits
        List<CompletableFuture<Integer>> sends = sendInSmallPieces(WINDOW + 1);
        long data = 0;
        while (data < WINDOW + 1) {
            data += dataPayloads(completeSend());
        }
        sends.get(sends.size() - 1).get(10, TimeUnit.SECONDS); // no window without the peer's flag
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(64)).toCompletableFuture();
        peerSends(credit(1));
        assertEquals(WsaError.WSAECONNRESET, failure(pending, 10));
    }

    // ------------------------------------------------------------------ the peer's side of the wire

    private List<CompletableFuture<Integer>> sendInSmallPieces(int total) {
        List<CompletableFuture<Integer>> sends = new ArrayList<>();
        for (int at = 0; at < total;) {
            int n = Math.min(total - at, 7_777);
            sends.add(socket.send(ByteBuffer.allocate(n)).toCompletableFuture());
            at += n;
        }
        return sends;
    }

    /** The DATA payload bytes in one send of the switch (it carries nothing but DATA and CREDIT frames here). */
    private static long dataPayloads(byte[] sent) {
        ByteBuffer frames = ByteBuffer.wrap(sent);
        long n = 0;
        while (frames.hasRemaining()) {
            byte type = frames.get();
            int length = frames.getInt();
            if (type == 1) {
                n += length;
                frames.position(frames.position() + length);
            } else {
                assertEquals(12, type, "DATA or CREDIT only");
            }
        }
        return n;
    }

    private List<PostedOperation> held(PostedOperation.Kind kind) {
        return wire.held.stream().filter(op -> op.kind() == kind).toList();
    }

    private PostedOperation awaitHeld(PostedOperation.Kind kind) throws InterruptedException {
        return Eventually.value("the switch posts a " + kind, () -> held(kind).stream().findFirst());
    }

    /** Completes the switch's next send and returns its bytes. */
    private byte[] completeSend() throws InterruptedException {
        return ScriptedWire.completeSend(rdma, wire, awaitHeld(PostedOperation.Kind.SEND));
    }

    /** Fills the switch's posted receive with {@code bytes} and completes it. */
    private void peerSends(byte[] bytes) throws InterruptedException {
        PostedOperation op = awaitHeld(PostedOperation.Kind.RECV);
        ByteBuffer into = op.buffers()[0].duplicate();
        assertTrue(into.remaining() >= bytes.length, "the test's frames fit one receive");
        into.put(bytes);
        wire.held.remove(op);
        rdma.events.operationCompleted(op, bytes.length);
    }

    private static WsaError failure(CompletionStage<Integer> op, int seconds) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> op.toCompletableFuture().get(seconds, TimeUnit.SECONDS));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }

    private static byte[] data(int length) {
        return ByteBuffer.allocate(5 + length).put((byte) 1).putInt(length).array();
    }

    private static byte[] credit(int bytes) {
        return ByteBuffer.allocate(5).put((byte) 12).putInt(bytes).array();
    }
}
