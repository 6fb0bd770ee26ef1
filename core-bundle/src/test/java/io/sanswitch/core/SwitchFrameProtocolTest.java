package io.sanswitch.core;

import static io.sanswitch.core.ScriptedWire.idFrame;
import static io.sanswitch.core.ScriptedWire.join;
import static io.sanswitch.core.ScriptedWire.writeReq;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.sanswitch.testing.Checks;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.testing.Eventually;

/**
 * The switch's session protocol against a hostile peer, played by the test on a scripted RDMA
 * provider (write flow: the scripted backend has no RDMA read). The peer's bytes are written into the
 * switch's posted receives as raw frames (built here by hand, not by the switch's own encoder). Any
 * protocol violation ends the connection with {@code WSAECONNRESET} for the application's pending
 * and later operations, and the switch sends the peer a RESET frame before it closes the socket.
 */
@Timeout(30)
class SwitchFrameProtocolTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final int MAX_BLOCK = 16 << 20;
    private static final byte[] PEER_HELLO = {5, 1, 0};
    private static final byte[] RESET = {9};

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ProviderEngine engine = new ProviderEngine(rdma);
    private Switch sw;
    private SwitchSocket socket;
    private ScriptedTransport.ScriptedSocket wire;

    @BeforeEach
    void connect() throws Exception {
        // Our HELLO's bytes are asserted: without migration its flags lack FLAG_MIGRATES (docs/rules.md
        // SW-migrate-negotiated); the peer's HELLO here never has it, so nothing else differs.
        sw = new Switch(MigrationOff.withSubnets("127.0.0.0/8"));
        sw.bindProvider(engine, Map.of("sanswitch.transport", "ucx"));
        socket = sw.connectAsync(SAN_PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
        wire = rdma.sockets.get(rdma.sockets.size() - 1);
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    static Stream<Arguments> violations() {
        ByteArrayOutputStream manyBlocks = new ByteArrayOutputStream();
        for (int id = 1; id <= 65; id++) {
            manyBlocks.writeBytes(writeReq(id, 1));
        }
        return Stream.of(
                arguments("a frame type the protocol does not have", join(PEER_HELLO, new byte[] {4, 0, 0, 0, 1})),
                arguments("DATA of 2^31 - 1 bytes", join(PEER_HELLO, data(0x7FFF_FFFF))),
                arguments("DATA of a negative length", join(PEER_HELLO, data(-5))),
                arguments("DATA one byte above what a send buffer holds", join(PEER_HELLO, data(128 * 1024 - 4))),
                arguments("DATA of 0 bytes", join(PEER_HELLO, data(0))),
                arguments("a WRITE_REQ above 16 MiB", join(PEER_HELLO, writeReq(1, MAX_BLOCK + 1))),
                arguments("a WRITE_REQ of 0 bytes", join(PEER_HELLO, writeReq(1, 0))),
                arguments("a WRITE_REQ with id 0", join(PEER_HELLO, writeReq(0, 10))),
                arguments("a WRITE_REQ out of sequence", join(PEER_HELLO, writeReq(2, 10))),
                arguments("a BLOCK with a descriptor of 65535 bytes", join(PEER_HELLO,
                        ByteBuffer.allocate(11).put((byte) 2).putInt(1).putInt(100).putShort((short) -1).array())),
                arguments("a BLOCK, though our HELLO asked for the write flow", join(PEER_HELLO,
                        ByteBuffer.allocate(14).put((byte) 2).putInt(1).putInt(100).putShort((short) 3).put(new byte[] {1, 2, 3})
                                .array())),
                arguments("a DONE for a block never sent", join(PEER_HELLO, idFrame(3, 1))),
                arguments("a WRITE_TARGET for a block never sent", join(PEER_HELLO,
                        ByteBuffer.allocate(10).put((byte) 7).putInt(1).putShort((short) 3).put(new byte[] {1, 2, 3}).array())),
                arguments("a WRITE_TARGET with an empty descriptor", join(PEER_HELLO,
                        ByteBuffer.allocate(7).put((byte) 7).putInt(1).putShort((short) 0).array())),
                arguments("a WRITE_DONE for a block never announced", join(PEER_HELLO, idFrame(8, 1))),
                arguments("more than 32 MiB of blocks in flight", join(PEER_HELLO, writeReq(1, MAX_BLOCK),
                        writeReq(2, MAX_BLOCK), writeReq(3, 1))),
                arguments("more than 64 blocks in flight", join(PEER_HELLO, manyBlocks.toByteArray())),
                arguments("a CREDIT of 0 bytes", join(PEER_HELLO, idFrame(12, 0))),
                arguments("a CREDIT above the 8 MiB window", join(PEER_HELLO, idFrame(12, (8 << 20) + 1))),
                arguments("a CREDIT though the peer's HELLO has no credit flag", join(PEER_HELLO, idFrame(12, 1))),
                arguments("data before the peer's HELLO", data(1, (byte) 'x')),
                arguments("a HELLO of protocol version 2", new byte[] {5, 2, 0}),
                arguments("a second HELLO", join(PEER_HELLO, PEER_HELLO)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("violations")
    void aProtocolViolationResetsTheConnectionBothWays(String what, byte[] hostile) throws Exception {
        assertArrayEquals(new byte[] {5, 1, 4}, completeSend(), "our HELLO: version 1, write flow, credits");
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(64)).toCompletableFuture();
        peerSends(hostile);

        assertEquals(WsaError.WSAECONNRESET, failure(pending), "the pending receive");
        assertResetSentAndSocketClosed();
        assertEquals(WsaError.WSAECONNRESET, failure(socket.send(ByteBuffer.wrap(new byte[] {1}))), "a later send");
        assertEquals(WsaError.WSAECONNRESET, failure(socket.receive(ByteBuffer.allocate(8))), "a later receive");
    }

    @Test
    void aViolationWhileASendIsInFlightSendsTheResetOnceThatSendIsDone() throws Exception {
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(64)).toCompletableFuture();
        peerSends(join(PEER_HELLO, data(0x7FFF_FFFF))); // our HELLO is still in flight
        assertEquals(WsaError.WSAECONNRESET, failure(pending));
        assertEquals(1, held(PostedOperation.Kind.SEND).size(), "no second send while one is in flight");
        assertArrayEquals(new byte[] {5, 1, 4}, completeSend(), "the HELLO in flight");
        assertResetSentAndSocketClosed();
    }

    @Test
    void aValidWriteFlowSequenceIsAcceptedWithinTheBounds() throws Exception {
        completeSend(); // our HELLO
        peerSends(join(PEER_HELLO, data(3, (byte) 'a', (byte) 'b', (byte) 'c'), writeReq(1, 5)));
        byte[] target = completeSend();
        assertEquals(7, target[0], "WRITE_TARGET");
        assertEquals(1, ByteBuffer.wrap(target).getInt(1), "for block 1");
        ByteBuffer exposed = lastExposedBuffer();
        assertEquals(5, exposed.capacity(), "a target of the announced length, no more");
        exposed.duplicate().put(new byte[] {'d', 'e', 'f', 'g', 'h'});
        peerSends(join(idFrame(8, 1), writeReq(2, MAX_BLOCK), writeReq(3, MAX_BLOCK)));

        byte[] got = new byte[8];
        ByteBuffer into = ByteBuffer.wrap(got);
        while (into.hasRemaining()) {
            socket.receive(into).toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        assertArrayEquals("abcdefgh".getBytes(), got, "DATA, then the block the peer wrote");
        assertTrue(socket.isOpen(), "two 16 MiB blocks in flight are within the bound");
    }

    @Test
    @Checks("SW-threshold")
    void aLargeSendMovesAsPipelinedBlocksOfOneMebibyte() throws Exception {
        completeSend(); // our HELLO
        peerSends(PEER_HELLO); // the write flow
        int length = (3 << 20) + 5;
        socket.send(ByteBuffer.allocateDirect(length));
        // Every block is announced at once (the bound in flight is 32 MiB), maybe over several sends.
        List<Integer> announced = new java.util.ArrayList<>();
        long total = 0;
        for (int sends = 0; total < length; sends++) {
            assertTrue(sends < 10, "blocks announced so far: " + announced);
            ByteBuffer frames = ByteBuffer.wrap(completeSend());
            while (frames.hasRemaining()) {
                assertEquals(6, frames.get(), "a WRITE_REQ");
                frames.getInt(); // id
                int block = frames.getInt();
                announced.add(block);
                total += block;
            }
        }
        assertEquals(List.of(1 << 20, 1 << 20, 1 << 20, 5), announced, "1 MiB blocks, the rest last");
    }

    // ------------------------------------------------------------------ the peer's side of the wire

    private void assertResetSentAndSocketClosed() throws InterruptedException {
        byte[] sent;
        int sends = 0;
        do {
            sent = completeSend(); // control frames queued before the violation may go first
            assertTrue(++sends < 10, "no RESET among the switch's sends");
        } while (!java.util.Arrays.equals(RESET, sent));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (wire.endedBy == null && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertNotNull(wire.endedBy, "the provider socket was closed after the RESET");
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

    private ByteBuffer lastExposedBuffer() {
        return rdma.journal("register").stream().map(e -> (ScriptedTransport.Region) e.subject())
                .filter(r -> r.remoteDescriptor() != null).reduce((a, b) -> b).orElseThrow().buffer();
    }

    private static WsaError failure(CompletionStage<Integer> op) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> op.toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }

    private static byte[] data(int length, byte... payload) {
        return ByteBuffer.allocate(5 + payload.length).put((byte) 1).putInt(length).put(payload).array();
    }
}
