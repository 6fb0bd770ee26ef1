package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * Acknowledgements and retention over the real UCX provider (docs/migration.md sections 2 and 5):
 * two migrating ends move a mixed stream byte-exact and keep nothing once idle; a raw peer that never
 * acknowledges sees the switch stop at its retention and go on after an ACK; hostile ACKs and
 * SESSIONs reset the connection; a peer that does not migrate sees no SESSION or ACK.
 */
@Timeout(120)
class SwitchAcknowledgementsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final byte HELLO = 5;
    private static final byte DATA = 1;
    private static final byte RESET = 9;
    private static final byte SESSION = 10;
    private static final byte ACK = 11;
    private static final int MAX_FRAME = 128 * 1024;
    private static final int RETENTION = 256 << 10;

    private ProviderEngine ucx;
    private Switch sw;
    private KitProvider peer;

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
        if (peer != null) {
            peer.close();
        }
    }

    private static SwitchSettings migrating(boolean writeFlow) {
        return SwitchSettings.withSubnets("127.0.0.0/8").withWriteFlow(writeFlow)
                .withMigration(MigrationSettings.defaults().withMigrate(true).withRetention(RETENTION, 64 << 10));
    }

    private void start(SwitchSettings settings) {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        sw = new Switch(settings);
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
    }

    // ------------------------------------------------------------------ (a) two migrating ends

    @ParameterizedTest(name = "write flow: {0}")
    @ValueSource(booleans = {false, true})
    @Checks("SW-migrate-exactly-once")
    void aMixedStreamArrivesByteExactAndNothingIsKeptOnceIdle(boolean writeFlow) throws Exception {
        start(migrating(writeFlow));
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        int[] sizes = new int[36];
        Random r = new Random(11);
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = i % 3 == 0 ? (1 << 20) + r.nextInt(1000) : 1 + r.nextInt(i % 3 == 1 ? 100 : 70_000);
        }
        int total = Arrays.stream(sizes).sum();
        byte[] up = new byte[total];
        byte[] down = new byte[total];
        r.nextBytes(up);
        r.nextBytes(down);
        CompletableFuture<byte[]> atServer = CompletableFuture.supplyAsync(() -> readAll(server, total));
        CompletableFuture<byte[]> atClient = CompletableFuture.supplyAsync(() -> readAll(client, total));
        List<CompletableFuture<Integer>> sends = new ArrayList<>();
        int at = 0;
        for (int size : sizes) {
            sends.add(client.send(ByteBuffer.allocateDirect(size).put(up, at, size).flip()).toCompletableFuture());
            sends.add(server.send(ByteBuffer.wrap(down, at, size).slice()).toCompletableFuture());
            at += size;
        }
        assertArrayEquals(up, atServer.get(60, TimeUnit.SECONDS), "client -> server");
        assertArrayEquals(down, atClient.get(60, TimeUnit.SECONDS), "server -> client");
        for (int i = 0; i < sends.size(); i++) {
            assertEquals(sizes[i / 2], sends.get(i).get(20, TimeUnit.SECONDS));
        }
        Eventually.until("both sides acknowledged everything (kept: " + sw.retainedBytes() + " bytes)",
                () -> sw.retainedBytes() == 0);
        client.close();
        server.close();
        listener.close();
    }

    // ------------------------------------------------------------------ raw peer

    /** The switch's connection to a raw UCX peer that has read the switch's HELLO and sent its own. */
    private record Raw(SwitchSocket app, SocketHandle raw, Wire wire) {
    }

    private Raw connectToRawPeer(byte peerFlags) throws Exception {
        start(migrating(false));
        peer = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        peer.startup();
        int port;
        do {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, LOOPBACK)) {
                port = probe.getLocalPort();
            }
        } while (port < 2);
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = peer.listen(new InetSocketAddress(LOOPBACK, port), 4, accepts);
        CompletableFuture<SwitchSocket> connecting = sw.connectAsync(new InetSocketAddress(LOOPBACK, port - 1), "ucx")
                .toCompletableFuture();
        SocketHandle raw = peer.accept(listener, accepts, ConditionDecision.CF_ACCEPT).socket();
        SwitchSocket app = connecting.get(20, TimeUnit.SECONDS);
        Wire wire = new Wire(raw);
        assertArrayEquals(new byte[] {HELLO, 1, 7}, wire.frame(), "the switch's HELLO: reads blocks, migrates, credits");
        send(raw, new byte[] {HELLO, 1, peerFlags});
        return new Raw(app, raw, wire);
    }

    /** As {@link #connectToRawPeer}, the raw peer migrating: the switch's SESSION, the peer's answer. */
    private Raw migratingRawPeer(boolean sameId) throws Exception {
        Raw c = connectToRawPeer((byte) 3);
        byte[] session = c.wire().frame();
        assertEquals(51, session.length);
        assertEquals(SESSION, session[0], "the connector's SESSION follows the HELLOs");
        byte[] answer = session.clone();
        new Random(1).nextBytes(answer);
        answer[0] = SESSION;
        if (sameId) {
            System.arraycopy(session, 1, answer, 1, 16);
        }
        send(c.raw(), answer);
        return c;
    }

    @Test
    @Checks("SW-migrate-exactly-once")
    void aPeerThatDoesNotAcknowledgeHoldsTheSendsBackAtTheRetentionUntilItsAck() throws Exception {
        Raw c = migratingRawPeer(true);
        byte[] data = new byte[20 * 60_000];
        new Random(3).nextBytes(data);
        List<CompletableFuture<Integer>> sends = new ArrayList<>();
        for (int at = 0; at < data.length; at += 60_000) {
            sends.add(c.app().send(ByteBuffer.wrap(data, at, 60_000).slice()).toCompletableFuture());
        }
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (got.size() < RETENTION) {
            got.write(c.wire().data());
        }
        assertEquals(RETENTION, got.size(), "DATA up to the retention, not a byte more");
        Eventually.until("the switch keeps a full retention (" + sw.retainedBytes() + ")",
                () -> sw.retainedBytes() == RETENTION);
        for (int i = 0; i < 4; i++) {
            assertEquals(60_000, sends.get(i).get(20, TimeUnit.SECONDS), "sent within the retention");
        }
        // The fifth send is partly framed, the others wait: no byte is on the wire beyond the retention.
        for (int i = 4; i < sends.size(); i++) {
            assertFalse(sends.get(i).isDone(), "send " + i + " held back");
        }
        // Acknowledging as it reads, the peer gets the rest, in order.
        send(c.raw(), ack(got.size()));
        while (got.size() < data.length) {
            got.write(c.wire().data());
            send(c.raw(), ack(got.size()));
        }
        assertArrayEquals(data, got.toByteArray());
        for (CompletableFuture<Integer> s : sends) {
            assertEquals(60_000, s.get(20, TimeUnit.SECONDS));
        }
        Eventually.until("nothing kept once acknowledged", () -> sw.retainedBytes() == 0);
    }

    @Test
    @Checks("SW-migrate-frames")
    void anAckBeyondWhatWasSentResetsTheConnection() throws Exception {
        Raw c = migratingRawPeer(true);
        send(c.raw(), ack(1));
        assertReset(c);
    }

    @Test
    @Checks("SW-migrate-frames")
    void anAckGoingBackwardsResetsTheConnection() throws Exception {
        Raw c = migratingRawPeer(true);
        assertEquals(1000, c.app().send(ByteBuffer.allocate(1000)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        assertEquals(1000, c.wire().data().length);
        send(c.raw(), ack(1000));
        Eventually.until("the ACK taken", () -> sw.retainedBytes() == 0);
        send(c.raw(), ack(999));
        assertReset(c);
    }

    @Test
    @Checks("SW-migrate-frames")
    void aSessionWithAnotherIdResetsTheConnection() throws Exception {
        Raw c = migratingRawPeer(false);
        assertReset(c);
    }

    @Test
    @Checks("SW-migrate-negotiated")
    void aPeerThatDoesNotMigrateSeesNoSessionAndNoAck() throws Exception {
        Raw c = connectToRawPeer((byte) 1);
        // The peer's data arrives, the switch's reply follows: were acknowledgements on, an ACK of
        // the peer's bytes would come first (and a SESSION before anything).
        byte[] up = new byte[5000];
        new Random(4).nextBytes(up);
        byte[] frame = ByteBuffer.allocate(5 + up.length).put(DATA).putInt(up.length).put(up).array();
        send(c.raw(), frame);
        byte[] got = new byte[up.length];
        new DataInputStream(c.app().inputStream()).readFully(got);
        assertArrayEquals(up, got);
        byte[] down = new byte[3000];
        new Random(5).nextBytes(down);
        assertEquals(3000, c.app().send(ByteBuffer.wrap(down)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        byte[] f = c.wire().frame();
        assertEquals(DATA, f[0], "the first frame after the HELLO is the reply's DATA, no SESSION or ACK");
        assertArrayEquals(down, Arrays.copyOfRange(f, 5, f.length));
        assertEquals(0, sw.retainedBytes(), "nothing kept for a peer that does not migrate");
    }

    // ------------------------------------------------------------------ helpers

    private void assertReset(Raw c) throws Exception {
        CompletableFuture<Integer> receive = c.app().receive(ByteBuffer.allocate(10)).toCompletableFuture();
        ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(20, TimeUnit.SECONDS));
        assertEquals(WsaError.WSAECONNRESET, assertInstanceOf(WsaException.class, e.getCause()).error());
        byte[] f = c.wire().frame();
        assertEquals(RESET, f[0], "the peer is told by a RESET");
    }

    private static byte[] ack(long received) {
        return ByteBuffer.allocate(9).put(ACK).putLong(received).array();
    }

    private void send(SocketHandle raw, byte[] bytes) throws Exception {
        assertTrue(KitProvider.await(peer.send(raw, bytes, Overlapped.Mode.POLL)).isSuccess());
    }

    /** The raw peer's reading side: whole frames of the switch, as they come. */
    private final class Wire {
        private final SocketHandle raw;
        private final ByteBuffer pending = ByteBuffer.allocate(2 * MAX_FRAME).flip();

        Wire(SocketHandle raw) {
            this.raw = raw;
        }

        /** The next frame, whole. */
        byte[] frame() throws Exception {
            while (true) {
                int length = length();
                if (length > 0 && pending.remaining() >= length) {
                    byte[] f = new byte[length];
                    pending.get(f);
                    return f;
                }
                KitProvider.Receive rc = peer.recv(raw, MAX_FRAME, Overlapped.Mode.POLL);
                OverlappedResult result = KitProvider.await(rc.overlapped());
                assertTrue(result.isSuccess() && result.bytesTransferred() > 0, "receive: " + result);
                pending.compact().put(rc.bytes(result.bytesTransferred())).flip();
            }
        }

        /** The next DATA frame's payload (anything else fails). */
        byte[] data() throws Exception {
            byte[] f = frame();
            assertEquals(DATA, f[0], "a DATA frame");
            return Arrays.copyOfRange(f, 5, f.length);
        }

        private int length() {
            if (!pending.hasRemaining()) {
                return 0;
            }
            byte type = pending.get(pending.position());
            switch (type) {
                case HELLO:
                    return 3;
                case RESET:
                    return 1;
                case SESSION:
                    return 51;
                case ACK:
                    return 9;
                case DATA:
                    return pending.remaining() < 5 ? 0 : 5 + pending.getInt(pending.position() + 1);
                default:
                    fail("frame type " + type + " on this wire");
                    return 0;
            }
        }
    }

    private static byte[] readAll(SwitchSocket s, int total) {
        try {
            byte[] got = new byte[total];
            new DataInputStream(s.inputStream()).readFully(got);
            return got;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
