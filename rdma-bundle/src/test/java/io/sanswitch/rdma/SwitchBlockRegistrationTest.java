package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.testing.Eventually;

/**
 * The switch's blocks over the real UCX provider reuse their registrations: a stream of large sends
 * from a few reused direct buffers arrives byte-exact in both flows while the provider sees a
 * bounded number of registrations (not two or more per block); more buffers than the cache keeps
 * are evicted and deregistered; everything is released when the connections end; and in the read
 * flow the peer is never given a descriptor of the application's own buffer.
 */
@Timeout(120)
class SwitchBlockRegistrationTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int BLOCK = 1 << 20;

    private ProviderEngine ucx;
    private Switch sw;
    /** The switch's own provider sockets, no connection's: its RDMA resume port (migrate on, docs/rules.md SW-migrate-back). */
    private int ownSockets;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
    }

    /** The UCX provider, every call counted by name. */
    private SanServiceProvider counted(ProviderEngine engine) {
        return (SanServiceProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, m, args) -> {
                    calls.computeIfAbsent(m.getName(), k -> new AtomicInteger()).incrementAndGet();
                    try {
                        return m.invoke(engine, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private int count(String method) {
        AtomicInteger n = calls.get(method);
        return n == null ? 0 : n.get();
    }

    private int registrations() {
        return count("registerMemory") + count("registerRdmaMemory");
    }

    private SwitchSocket[] connectedPair(boolean writeFlow) throws Exception {
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withWriteFlow(writeFlow));
        sw.bindProvider(counted(ucx), Map.of("sanswitch.transport", "ucx"));
        ownSockets = sw.statistics().totalProviderSockets();
        assertEquals(ownSockets, ucx.openSockets(), "the switch's own sockets alone: " + sw.statistics());
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        listener.close();
        return new SwitchSocket[] {client, server};
    }

    /**
     * Sends {@code rounds} blocks from {@code buffers} reused direct buffers (each refilled with
     * seeded bytes once its previous send completed) and checks every byte at the receiver.
     */
    private static void stream(SwitchSocket from, SwitchSocket to, int buffers, int rounds) throws Exception {
        byte[] expected = new byte[rounds * BLOCK];
        new Random(rounds * 31L + buffers).nextBytes(expected);
        CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> readAll(to, expected.length));
        ByteBuffer[] pool = new ByteBuffer[buffers];
        @SuppressWarnings("unchecked")
        CompletableFuture<Integer>[] inFlight = new CompletableFuture[buffers];
        for (int i = 0; i < buffers; i++) {
            pool[i] = ByteBuffer.allocateDirect(BLOCK);
        }
        for (int r = 0; r < rounds; r++) {
            int i = r % buffers;
            if (inFlight[i] != null) {
                assertEquals(BLOCK, inFlight[i].get(30, TimeUnit.SECONDS));
            }
            pool[i].clear();
            pool[i].put(expected, r * BLOCK, BLOCK).flip();
            inFlight[i] = from.send(pool[i]).toCompletableFuture();
        }
        for (CompletableFuture<Integer> f : inFlight) {
            if (f != null) {
                assertEquals(BLOCK, f.get(30, TimeUnit.SECONDS));
            }
        }
        assertArrayEquals(expected, received.get(60, TimeUnit.SECONDS), "every byte, in order");
    }

    private void closeAndExpectNothingLeft(SwitchSocket[] pair) throws Exception {
        pair[0].close();
        assertEquals(-1, pair[1].receive(ByteBuffer.allocate(4)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        pair[1].close();
        Eventually.until("the provider sockets are closed", () -> sw.statistics().totalProviderSockets() == ownSockets);
        SwitchStatistics after = sw.statistics();
        assertEquals(ownSockets, after.totalProviderSockets(), after.toString());
        assertEquals(0, after.memoryRegistrations(), "the switch counts nothing registered: " + after);
        // docs/rules.md SW-close-off-io: the provider's close runs on the switch's close threads.
        Eventually.until("the provider closed the connections' sockets", () -> ucx.openSockets() == ownSockets);
        assertEquals(0, ((UcxTransport) transportOf(ucx)).registeredRegions(), "UCX has no memory mapped any more");
    }

    private static Object transportOf(ProviderEngine engine) throws Exception {
        java.lang.reflect.Field f = ProviderEngine.class.getDeclaredField("transport");
        f.setAccessible(true);
        return f.get(engine);
    }

    @ParameterizedTest(name = "write flow forced: {0}")
    @ValueSource(booleans = {false, true})
    void aStreamFromReusedBuffersArrivesExactlyAndReusesItsRegistrations(boolean writeFlow) throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        SwitchSocket[] pair = connectedPair(writeFlow);
        int before = registrations();
        int rounds = 48;
        stream(pair[0], pair[1], 3, rounds);
        int during = registrations() - before;
        // Per block the switch used to register the application's buffer (or expose it) and a
        // fresh target: 2 x 48. Kept registrations make it a handful, whatever the rounds.
        assertTrue(during <= 3 + 16, "registrations for " + rounds + " blocks from 3 buffers: " + during + " " + calls);
        closeAndExpectNothingLeft(pair);
    }

    @Test
    void moreBuffersThanTheCacheKeepsAreEvictedAndDeregistered() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        SwitchSocket[] pair = connectedPair(true);
        int buffers = 24; // more than a connection keeps (8, BlockTransfers.CACHED_BUFFERS)
        stream(pair[0], pair[1], buffers, 2 * buffers);
        assertTrue(count("deregisterMemory") >= buffers - 8, "evictions deregister: " + calls);
        long kept = sw.statistics().memoryRegistrations();
        // Two message buffers per connection, at most 8 cached buffers and 8 free buffers in each of
        // the two pools (BlockTransfers.CACHED_BUFFERS, BlockPool.MAX_FREE).
        assertTrue(kept <= 4 + 8 + 2 * 8, "registrations kept: " + kept);
        closeAndExpectNothingLeft(pair);
    }

    /**
     * A raw UCX peer that asks for the read flow gets the switch's block, reads it and says DONE;
     * the application's send completes and it writes a secret into the same buffer. Reading again
     * through the block's descriptor must not give the peer the secret: the descriptor never named
     * the application's buffer.
     */
    @Test
    void afterDoneThePeerCannotReadTheApplicationsBuffer() throws Exception {
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
            CompletableFuture<SwitchSocket> connecting = sw.connectAsync(new InetSocketAddress(LOOPBACK, port - 1), "ucx")
                    .toCompletableFuture();
            SocketHandle raw = peer.accept(listener, accepts, ConditionDecision.CF_ACCEPT).socket();
            SwitchSocket app = connecting.get(20, TimeUnit.SECONDS);
            assertArrayEquals(new byte[] {5, 1, 5}, peer.receiveExactly(raw, 3, 3), "the switch's HELLO (reads blocks, credits)");
            assertTrue(KitProvider.await(peer.send(raw, new byte[] {5, 1, 1}, Overlapped.Mode.POLL)).isSuccess(),
                    "our HELLO: we read blocks");

            byte[] sent = new byte[BLOCK];
            new Random(7).nextBytes(sent);
            ByteBuffer application = ByteBuffer.allocateDirect(BLOCK).put(sent).flip();
            CompletableFuture<Integer> sending = app.send(application).toCompletableFuture();

            // BLOCK: type, id, length, descriptor length, descriptor
            ByteBuffer header = ByteBuffer.wrap(peer.receiveExactly(raw, 11, 11));
            assertEquals(2, header.get(), "a BLOCK frame");
            int id = header.getInt();
            assertEquals(BLOCK, header.getInt());
            int descriptorLength = header.getShort() & 0xFFFF;
            RdmaBufferDescriptor descriptor = RdmaBufferDescriptor.of(peer.receiveExactly(raw, descriptorLength, descriptorLength));
            assertArrayEquals(sent, read(peer, raw, descriptor), "the block, read by RDMA");
            ByteBuffer done = ByteBuffer.allocate(5).put((byte) 3).putInt(id);
            assertTrue(KitProvider.await(peer.send(raw, done.array(), Overlapped.Mode.POLL)).isSuccess());
            assertEquals(BLOCK, sending.get(20, TimeUnit.SECONDS), "DONE completes the send");

            byte[] secret = new byte[BLOCK];
            new Random(8).nextBytes(secret);
            application.clear();
            application.put(secret);
            byte[] again = readOrNull(peer, raw, descriptor);
            assertFalse(again != null && Arrays.equals(secret, again),
                    "the peer read the application's buffer after DONE");
            app.abort();
        }
    }

    private static byte[] read(KitProvider peer, SocketHandle raw, RdmaBufferDescriptor d) throws Exception {
        byte[] got = readOrNull(peer, raw, d);
        assertTrue(got != null, "the RDMA read failed");
        return got;
    }

    /** The peer's RDMA read of the whole block, or null if it failed. */
    private static byte[] readOrNull(KitProvider peer, SocketHandle raw, RdmaBufferDescriptor d) throws Exception {
        ByteBuffer into = ByteBuffer.allocateDirect(BLOCK);
        MemoryHandle m = peer.register(raw, into, Winsock.MEM_WRITE);
        Overlapped ov = Overlapped.polling(m);
        try {
            peer.engine.rdmaRead(raw, new WsaBuf[] {WsaBuf.of(m)}, d, 0, 0, ov);
        } catch (io.sanswitch.spi.WsaException refused) {
            return null;
        }
        OverlappedResult r = KitProvider.await(ov);
        if (!r.isSuccess()) {
            return null;
        }
        byte[] out = new byte[BLOCK];
        into.get(out);
        return out;
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
