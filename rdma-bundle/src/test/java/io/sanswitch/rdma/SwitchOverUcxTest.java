package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Eventually;

/**
 * The switch's session protocol over the real UCX provider: data of every size around the RDMA
 * threshold (framed small data, large blocks by RDMA read or by RDMA write, blocks split at the
 * maximum block size) arrives byte-exact in both directions at once, and everything the switch
 * registered is released when the connections end.
 */
@Timeout(120)
class SwitchOverUcxTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int THRESHOLD = 64 * 1024; // the UCX provider's SO_RDMA_THRESHOLD_SIZE
    private static final int[] SIZES = {1, 2, 1000, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1, 200_000, 1 << 20,
        16 << 20, (16 << 20) + 3, 5, 3 * THRESHOLD};

    private ProviderEngine ucx;
    private Switch sw;

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
    }

    @ParameterizedTest(name = "write flow forced: {0}")
    @ValueSource(booleans = {false, true})
    @io.sanswitch.testing.Checks({"SW-threshold", "SW-release"})
    void everySizeArrivesByteExactBothWaysAtOnce(boolean writeFlow) throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withWriteFlow(writeFlow));
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        // The switch's own provider sockets, no connection's: its RDMA resume port (migrate on, docs/rules.md
        // SW-migrate-back).
        int ownSockets = sw.statistics().totalProviderSockets();
        assertEquals(ownSockets, ucx.openSockets(), "the switch's own sockets alone: " + sw.statistics());

        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        assertEquals(List.of("ucx"), listener.providers(), "only the RDMA provider is running");
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        assertEquals(new ProviderChoice("ucx", ProviderChoice.Reason.SAN_SUBNET, null), client.choice());
        assertEquals("ucx", server.provider());

        byte[] up = stream(11);
        byte[] down = stream(13);
        CompletableFuture<byte[]> atServer = CompletableFuture.supplyAsync(() -> readAll(server, up.length));
        CompletableFuture<byte[]> atClient = CompletableFuture.supplyAsync(() -> readAll(client, down.length));
        List<CompletableFuture<Integer>> sends = new ArrayList<>();
        int offset = 0;
        for (int size : SIZES) {
            // Heap and direct buffers alike; posted back to back, completed in order.
            sends.add(client.send(slice(up, offset, size, size % 2 == 0)).toCompletableFuture());
            sends.add(server.send(slice(down, offset, size, size % 2 != 0)).toCompletableFuture());
            offset += size;
        }
        assertArrayEquals(up, atServer.get(60, TimeUnit.SECONDS), "client -> server");
        assertArrayEquals(down, atClient.get(60, TimeUnit.SECONDS), "server -> client");
        for (int i = 0; i < sends.size(); i++) {
            assertEquals(SIZES[i / 2], sends.get(i).get(20, TimeUnit.SECONDS));
        }
        SwitchStatistics during = sw.statistics();
        // Two message buffers per connection, plus what each keeps for the next blocks: the
        // application's buffers (write flow) and the block buffers it received into.
        assertTrue(during.memoryRegistrations() >= 4, during.toString());

        client.close();
        assertEquals(-1, server.receive(ByteBuffer.allocate(4)).toCompletableFuture().get(20, TimeUnit.SECONDS),
                "graceful close: end of stream after the last byte");
        server.close();
        listener.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sw.statistics().totalProviderSockets() > ownSockets && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        SwitchStatistics after = sw.statistics();
        assertEquals(ownSockets, after.totalProviderSockets(), after.toString());
        assertEquals(0, after.memoryRegistrations(), after.toString());
        // docs/rules.md SW-close-off-io: the provider's close runs on the switch's close threads.
        Eventually.until("the provider closed the connections' sockets", () -> ucx.openSockets() == ownSockets);
    }

    @org.junit.jupiter.api.Test
    void aListenerAndAConnectPinnedToUcxMeetAtTheRdmaPortOffWithNoSanSubnetAndMoveBytes() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        sw = new Switch(SwitchSettings.withSubnets().withPortOffset(2)); // loopback is on no SAN subnet
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));

        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4, "ucx");
        assertEquals(List.of("ucx"), listener.providers(), "pinned: ucx listens whatever the subnets");
        int port = listener.localAddress().getPort();
        assertTrue(ucx.sockets().stream().anyMatch(s -> "LISTENING".equals(s.role()) && s.local() != null
                && s.local().getPort() == port + 2), "the UCX listener is at port + rdmaPortOffset: " + ucx.sockets());
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress(), "ucx");
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        assertEquals(new ProviderChoice("ucx", ProviderChoice.Reason.PINNED, null), client.choice());
        assertEquals("ucx", server.provider());
        byte[] data = stream(17);
        CompletableFuture<byte[]> atServer = CompletableFuture.supplyAsync(() -> readAll(server, data.length));
        client.send(ByteBuffer.wrap(data)).toCompletableFuture().get(60, TimeUnit.SECONDS);
        assertArrayEquals(data, atServer.get(60, TimeUnit.SECONDS), "framed and RDMA blocks, pinned as unpinned");
        assertEquals(java.util.Optional.of("PINNED: the application asked for ucx"), ucx.sockets().stream()
                .filter(s -> "CONNECTED".equals(s.role())).map(s -> sw.reasonFor("ucx", s.switchHandle()))
                .filter(r -> r.startsWith("PINNED")).findFirst(), "san:sockets' reason for the pinned socket");
        client.abort();
        server.abort();
        listener.close();
    }

    /**
     * A raw SPI client on a second UCX provider plays a hostile switch peer: after a valid HELLO it
     * announces DATA of 2^31 - 1 bytes. The switch allocates nothing for it, fails the application's
     * pending and later operations with WSAECONNRESET, and tells the peer with a RESET frame.
     */
    @org.junit.jupiter.api.Test
    void aHostilePeerBreakingTheSessionProtocolGetsAResetAndTheApplicationSeesWsaeconnreset() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        // The switch's HELLO is asserted byte for byte: without migration, whose flag (FLAG_MIGRATES) it would carry
        // (docs/rules.md SW-migrate-negotiated); the raw peer never migrates, so nothing else differs.
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(MigrationSettings.defaults().withMigrate(false)));
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        try (KitProvider peer = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""))) {
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
            assertArrayEquals(new byte[] {5, 1, 5}, peer.receiveExactly(raw, 3, 3), "the switch's HELLO (reads blocks, credits)");

            CompletableFuture<Integer> pending = app.receive(ByteBuffer.allocate(64)).toCompletableFuture();
            byte[] hostile = ByteBuffer.allocate(8).put(new byte[] {5, 1, 1}).put((byte) 1).putInt(0x7FFF_FFFF).array();
            assertTrue(KitProvider.await(peer.send(raw, hostile, Overlapped.Mode.POLL)).isSuccess());

            assertEquals(WsaError.WSAECONNRESET, failure(pending), "the application's pending receive");
            assertArrayEquals(new byte[] {9}, peer.receiveExactly(raw, 1, 1), "a RESET frame to the peer");
            assertEquals(WsaError.WSAECONNRESET, failure(app.send(ByteBuffer.wrap(new byte[] {1}))), "a later send");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sw.statistics().totalProviderSockets() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, sw.statistics().totalProviderSockets(), "the switch closed its socket");
            assertEquals(0, sw.statistics().memoryRegistrations(), "and released its registrations");
        }
    }

    private static WsaError failure(java.util.concurrent.CompletionStage<Integer> op) {
        java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class, () -> op.toCompletableFuture().get(20, TimeUnit.SECONDS));
        return org.junit.jupiter.api.Assertions.assertInstanceOf(WsaException.class, e.getCause()).error();
    }

    private static byte[] stream(long seed) {
        int total = 0;
        for (int s : SIZES) {
            total += s;
        }
        byte[] data = new byte[total];
        new Random(seed).nextBytes(data);
        return data;
    }

    private static ByteBuffer slice(byte[] data, int offset, int size, boolean direct) {
        if (!direct) {
            return ByteBuffer.wrap(data, offset, size).slice();
        }
        return ByteBuffer.allocateDirect(size).put(data, offset, size).flip();
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
