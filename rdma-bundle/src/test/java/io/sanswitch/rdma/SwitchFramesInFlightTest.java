package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.SocketStatus;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.testing.Eventually;

/**
 * A framed connection over the real UCX provider keeps several provider sends and receives in
 * flight (issue 12: with one, each frame waited for the previous one's completion), and its stream
 * keeps its order: a raw peer that does not read yet sees several of the switch's sends pending at
 * once and then every byte in order; a peer that fills a receive buffer gets a second receive
 * posted; and a mix of 1 MiB blocks and small sends both ways arrives byte-exact.
 */
@Timeout(120)
class SwitchFramesInFlightTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** The session protocol's frames as a peer writes them (docs: the switch's wire format). */
    private static final byte HELLO = 5;
    private static final byte DATA = 1;
    private static final int DATA_HEADER = 5;
    /** A frame, and so a message of the switch, is at most 128 KiB. */
    private static final int MAX_FRAME = 128 * 1024;

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

    /** The switch's connection on a raw UCX peer that has read nothing yet but the HELLO. */
    private record Raw(SwitchSocket app, SocketHandle raw) {
    }

    private Raw connectToRawPeer() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        // The switch's HELLO is asserted byte for byte: without migration, whose flag (FLAG_MIGRATES) it would carry
        // (docs/rules.md SW-migrate-negotiated); the raw peer never migrates, so nothing else differs.
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(MigrationSettings.defaults().withMigrate(false)));
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
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
        // A connect to P goes to the RDMA provider at P + rdmaPortOffset (1).
        CompletableFuture<SwitchSocket> connecting = sw.connectAsync(new InetSocketAddress(LOOPBACK, port - 1), "ucx")
                .toCompletableFuture();
        SocketHandle raw = peer.accept(listener, accepts, ConditionDecision.CF_ACCEPT).socket();
        SwitchSocket app = connecting.get(20, TimeUnit.SECONDS);
        assertArrayEquals(new byte[] {HELLO, 1, 5}, peer.receiveExactly(raw, 3, 3), "the switch's HELLO (reads blocks, credits)");
        assertTrue(KitProvider.await(peer.send(raw, new byte[] {HELLO, 1, 1}, Overlapped.Mode.POLL)).isSuccess());
        return new Raw(app, raw);
    }

    /** The provider operations pending on the switch's one connected UCX socket. */
    private int pendingOnTheSwitchsSocket() {
        return ucx.sockets().stream().filter(s -> "CONNECTED".equals(s.role())).mapToInt(SocketStatus::pendingOperations)
                .sum();
    }

    @Test
    void severalSendsArePendingWhileThePeerDoesNotReadAndEveryByteArrivesInOrder() throws Exception {
        Raw c = connectToRawPeer();
        byte[] data = new byte[40 * 60_000];
        new Random(3).nextBytes(data);
        List<CompletableFuture<Integer>> sends = new ArrayList<>();
        for (int at = 0; at < data.length; at += 60_000) {
            // Below the RDMA threshold: DATA frames, which fill the switch's 128 KiB messages.
            sends.add(c.app().send(ByteBuffer.wrap(data, at, 60_000).slice()).toCompletableFuture());
        }

        // One receive (for the peer's frames) and more than one send: a message UCX cannot deliver
        // to a peer that posted no receive stays pending, the next ones are posted behind it.
        Eventually.until("more than one provider send pending at once (seen: " + pendingOnTheSwitchsSocket() + ")",
                () -> pendingOnTheSwitchsSocket() >= 3);

        assertArrayEquals(data, readDataFrames(c.raw(), data.length), "every byte, in order");
        for (CompletableFuture<Integer> s : sends) {
            assertEquals(60_000, s.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void aPeerFillingAReceiveBufferGetsASecondReceivePosted() throws Exception {
        Raw c = connectToRawPeer();
        byte[] payload = new byte[MAX_FRAME - DATA_HEADER];
        new Random(5).nextBytes(payload);
        byte[] frame = ByteBuffer.allocate(MAX_FRAME).put(DATA).putInt(payload.length).put(payload).array();
        assertTrue(KitProvider.await(peer.send(c.raw(), frame, Overlapped.Mode.POLL)).isSuccess());

        // The application has not read: the switch reads ahead into a second buffer too.
        Eventually.until("two receives posted (seen: " + pendingOnTheSwitchsSocket() + ")",
                () -> pendingOnTheSwitchsSocket() >= 2);

        byte[] got = new byte[payload.length];
        new DataInputStream(c.app().inputStream()).readFully(got);
        assertArrayEquals(payload, got);
    }

    @Test
    void blocksAndSmallSendsMixedBothWaysArriveByteExact() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8"));
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        int[] sizes = new int[48];
        Random r = new Random(7);
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = i % 3 == 0 ? 1 << 20 : 1 + r.nextInt(i % 3 == 1 ? 100 : 70_000);
        }
        int total = java.util.Arrays.stream(sizes).sum();
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
        client.close();
        server.close();
        listener.close();
    }

    /** Reads the switch's frames on the raw peer: DATA payloads, in order, until {@code total} bytes. */
    private byte[] readDataFrames(SocketHandle raw, int total) throws Exception {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        ByteBuffer wire = ByteBuffer.allocate(2 * MAX_FRAME).flip();
        while (payload.size() < total) {
            KitProvider.Receive rc = peer.recv(raw, MAX_FRAME, Overlapped.Mode.POLL);
            OverlappedResult result = KitProvider.await(rc.overlapped());
            assertTrue(result.isSuccess() && result.bytesTransferred() > 0, "receive: " + result);
            wire.compact().put(rc.bytes(result.bytesTransferred())).flip();
            while (wire.remaining() >= DATA_HEADER) {
                assertEquals(DATA, wire.get(wire.position()), "only DATA frames after the HELLO");
                int length = wire.getInt(wire.position() + 1);
                if (wire.remaining() < DATA_HEADER + length) {
                    break;
                }
                byte[] p = new byte[length];
                wire.position(wire.position() + DATA_HEADER).get(p);
                payload.write(p);
            }
        }
        return payload.toByteArray();
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
