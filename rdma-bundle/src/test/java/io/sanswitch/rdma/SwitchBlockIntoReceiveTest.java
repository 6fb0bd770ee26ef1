package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openucx.jucx.UcxUtils;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.Winsock;
import io.sanswitch.testing.Checks;

/**
 * In the read flow a block the application already waits for is read by RDMA straight into its
 * receive's direct buffer (one copy less, issue 12), registered locally only (docs/security.md
 * SEC-9: never exposed to the peer), and the stream keeps its order around it.
 */
@Timeout(120)
class SwitchBlockIntoReceiveTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int BLOCK = 1 << 20;
    /** The switch's pipeline of blocks in flight (BlockTransfers.PIPELINE_BYTES, package-private there). */
    private static final long SWITCH_PIPELINE_BYTES = 8L << 20;

    /** One registration the switch asked the provider for. */
    private record Registration(String method, long address, int access) {
    }

    private ProviderEngine ucx;
    private Switch sw;
    private final List<Registration> registrations = new CopyOnWriteArrayList<>();
    /** The provider sockets the switch holds of its own, before any connection. */
    private long ownSockets;
    /** The start of each locally registered buffer, by its registration. */
    private final Map<Object, Long> registeredAt = new java.util.concurrent.ConcurrentHashMap<>();
    /** The start of the registered buffer each RDMA read went into (-1: not one registered locally). */
    private final List<Long> readInto = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
    }

    /** The UCX provider, its registrations recorded. */
    private SanServiceProvider recorded(ProviderEngine engine) {
        return (SanServiceProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, m, args) -> {
                    if (m.getName().startsWith("register") && args[1] instanceof ByteBuffer b && b.isDirect()) {
                        registrations.add(new Registration(m.getName(), UcxUtils.getAddress(b), (int) args[2]));
                    }
                    if (m.getName().equals("rdmaRead")) {
                        Long at = registeredAt.get(((io.sanswitch.spi.WsaBuf[]) args[1])[0].registration());
                        readInto.add(at == null ? -1 : at);
                    }
                    Object result;
                    try {
                        result = m.invoke(engine, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (m.getName().equals("registerMemory") && args[1] instanceof ByteBuffer b && b.isDirect()) {
                        registeredAt.put(result, UcxUtils.getAddress(b));
                    }
                    return result;
                });
    }

    /** A listener and a connection over it, both ends on one switch over the recorded UCX provider. */
    private record Pair(SwitchServerSocket listener, SwitchSocket client, SwitchSocket server) {
    }

    /**
     * Without migration (on by default): these tests count the provider's sockets and staging buffers exactly, and
     * with it the retention keeps each block's staging buffer until the peer acknowledges it (docs/rules.md
     * SW-migrate-exactly-once), so more are exposed.
     */
    private Pair recordedPair() throws Exception {
        return recordedPair(false);
    }

    /** @param migrate the switch migrates (docs/migration.md): both ends negotiate acknowledgements and retention */
    private Pair recordedPair(boolean migrate) throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        SwitchSettings settings = SwitchSettings.withSubnets("127.0.0.0/8");
        // Said either way: migrate is on by default.
        sw = new Switch(settings.withMigration(MigrationSettings.defaults().withMigrate(migrate)));
        sw.bindProvider(recorded(ucx), Map.of("sanswitch.transport", "ucx"));
        // With migration the switch keeps an RDMA resume port of its own (docs/migration.md section 6).
        ownSockets = sw.statistics().totalProviderSockets();
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = sw.connect(listener.localAddress());
        return new Pair(listener, client, accepted.get(20, TimeUnit.SECONDS));
    }

    @Test
    void aBlockGoesStraightIntoTheWaitingReceiveAndWhatFollowsItComesAfter() throws Exception {
        Pair pair = recordedPair();
        SwitchServerSocket listener = pair.listener();
        SwitchSocket client = pair.client();
        SwitchSocket server = pair.server();
        byte[] block = new byte[BLOCK];
        byte[] tail = new byte[100];
        Random r = new Random(11);
        r.nextBytes(block);
        r.nextBytes(tail);

        for (int round = 0; round < 3; round++) {
            // Posted first, with room for more than the block: it completes with the block alone.
            ByteBuffer into = ByteBuffer.allocateDirect(BLOCK + 4096);
            CompletableFuture<Integer> first = server.receive(into).toCompletableFuture();
            ByteBuffer next = ByteBuffer.allocate(tail.length);
            CompletableFuture<Integer> second = server.receive(next).toCompletableFuture();
            client.send(ByteBuffer.allocateDirect(BLOCK).put(block).flip());
            client.send(ByteBuffer.wrap(tail));

            assertEquals(BLOCK, first.get(30, TimeUnit.SECONDS), "the block, in the receive that waited for it");
            byte[] got = new byte[BLOCK];
            into.flip().get(got);
            assertArrayEquals(block, got);
            assertEquals(tail.length, second.get(30, TimeUnit.SECONDS), "what followed the block");
            assertArrayEquals(tail, next.array());
            long at = UcxUtils.getAddress(into.clear()); // the buffer's start (getAddress adds the position)
            assertTrue(registrations.contains(new Registration("registerMemory", at, Winsock.MEM_WRITE)),
                    "round " + round + ": the receive's own buffer (" + at + ") was registered locally to read the block into: " + registrations);
            assertTrue(registrations.stream().noneMatch(g -> g.address() == at && !g.method().equals("registerMemory")),
                    "and never exposed to the peer: " + registrations);
        }
        client.close();
        assertEquals(-1, server.receive(ByteBuffer.allocate(4)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        server.close();
        listener.close();
        io.sanswitch.testing.Eventually.until("the provider sockets are closed",
                () -> sw.statistics().totalProviderSockets() == 0);
        assertEquals(0, sw.statistics().memoryRegistrations(), "nothing left registered: " + sw.statistics());
    }

    /**
     * Several blocks announced together go straight into as many waiting receives at once, not only
     * the first while the others are copied out of pooled buffers (issue 12: the provider's own large
     * receives work that way), and the receives complete in stream order. With migration too
     * (docs/rules.md SW-migrate-fence: a move fences the receives lent; before it, every such block
     * was read into a pooled buffer and copied): no block buffer of the switch's is registered to
     * read into, every read goes into a receive's own buffer.
     */
    @ParameterizedTest(name = "migrate: {0}")
    @ValueSource(booleans = {false, true})
    @Checks("SW-migrate-fence")
    void blocksAnnouncedTogetherGoStraightIntoTheReceivesWaitingForThemInOrder(boolean migrate) throws Exception {
        Pair pair = recordedPair(migrate);
        SwitchServerSocket listener = pair.listener();
        SwitchSocket client = pair.client();
        SwitchSocket server = pair.server();
        int blocks = 4;
        byte[] data = new byte[blocks * BLOCK];
        new Random(12).nextBytes(data);

        ByteBuffer[] into = new ByteBuffer[blocks];
        List<Integer> completedInOrder = new CopyOnWriteArrayList<>();
        CompletableFuture<?>[] received = new CompletableFuture<?>[blocks];
        for (int i = 0; i < blocks; i++) {
            into[i] = ByteBuffer.allocateDirect(BLOCK);
            int index = i;
            received[i] = server.receive(into[i]).toCompletableFuture().thenAccept(n -> completedInOrder.add(index));
        }
        // One send of four blocks: their announcements leave in one provider send and arrive together.
        client.send(ByteBuffer.allocateDirect(data.length).put(data).flip());

        CompletableFuture.allOf(received).get(30, TimeUnit.SECONDS);
        assertEquals(List.of(0, 1, 2, 3), completedInOrder, "the receives complete in stream order");
        for (int i = 0; i < blocks; i++) {
            byte[] got = new byte[BLOCK];
            into[i].flip().get(got);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, i * BLOCK, (i + 1) * BLOCK), got, "block " + i);
            long at = UcxUtils.getAddress(into[i].clear());
            assertTrue(registrations.contains(new Registration("registerMemory", at, Winsock.MEM_WRITE)),
                    "block " + i + " was read straight into its receive's buffer (" + at + "), registered locally: " + registrations);
        }
        java.util.Set<Long> receivers = new java.util.HashSet<>();
        for (ByteBuffer b : into) {
            receivers.add(UcxUtils.getAddress(b.clear()));
        }
        assertEquals(blocks, readInto.size(), "a read per block: " + readInto);
        assertTrue(receivers.containsAll(readInto), "every block was read into a receive's own buffer, none into a pooled one "
                + "to be copied: reads into " + readInto + ", receives at " + receivers);
        if (migrate) {
            io.sanswitch.testing.Eventually.until("migration negotiated on both ends",
                    () -> negotiatedMigration(client) && negotiatedMigration(server));
        } else {
            assertTrue(!negotiatedMigration(client) && !negotiatedMigration(server), "no migration without migrate");
        }
        client.close();
        server.close();
        listener.close();
        io.sanswitch.testing.Eventually.until("the provider sockets are closed",
                () -> sw.statistics().totalProviderSockets() == ownSockets);
        assertEquals(0, sw.statistics().memoryRegistrations(), "nothing left registered: " + sw.statistics());
    }

    /** Whether the connection's SESSION exchange was done (docs/migration.md section 2; the switch's own view). */
    private static boolean negotiatedMigration(SwitchSocket s) {
        try {
            java.lang.reflect.Method session = s.getClass().getDeclaredMethod("session");
            session.setAccessible(true);
            return session.invoke(s) != null;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A send of many blocks reuses the same exposed staging buffers, message after message: the
     * blocks this side has in flight stay within what its pool keeps (8 MiB). With every block of a
     * 16 MiB message in flight at once, each message beyond the pool's bound allocated, exposed and
     * deregistered buffers of its own, and a 16 MiB round trip took 125 ms instead of about 4.
     */
    @Test
    void messagesOfManyBlocksReuseTheirStagingBuffers() throws Exception {
        Pair pair = recordedPair();
        SwitchServerSocket listener = pair.listener();
        SwitchSocket client = pair.client();
        SwitchSocket server = pair.server();
        int size = 16 * BLOCK;
        byte[] data = new byte[size];
        Random r = new Random(13);
        ByteBuffer from = ByteBuffer.allocateDirect(size);
        ByteBuffer into = ByteBuffer.allocateDirect(size);
        int messages = 4;
        for (int m = 0; m < messages; m++) {
            r.nextBytes(data);
            into.clear();
            // The application reads while the send is under way: the receiving switch buffers at most
            // Connection.HIGH_WATER (8 MiB) ahead of it, so a 16 MiB send completes only as it reads.
            CompletableFuture<?> sent = client.send(from.clear().put(data).flip()).toCompletableFuture();
            int got = 0;
            while (got < size) { // a receive completes with what has arrived; the rest follows
                got += server.receive(into).toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            sent.get(30, TimeUnit.SECONDS);
            byte[] back = new byte[size];
            into.flip().get(back);
            assertArrayEquals(data, back, "message " + m);
        }
        long exposures = registrations.stream().filter(g -> g.method().equals("registerRdmaMemory")).count();
        long pooled = SWITCH_PIPELINE_BYTES / BLOCK;
        assertTrue(exposures <= pooled, exposures + " staging buffers exposed for " + messages + " messages of 16 blocks; "
                + "the pipeline of " + pooled + " blocks should have reused its first ones: " + registrations);
        client.close();
        server.close();
        listener.close();
        io.sanswitch.testing.Eventually.until("the provider sockets are closed",
                () -> sw.statistics().totalProviderSockets() == 0);
        io.sanswitch.testing.Eventually.until("nothing left registered", () -> sw.statistics().memoryRegistrations() == 0);
    }

    /**
     * A raw peer announces a block with a descriptor the provider refuses while a direct receive
     * waits for it: the connection ends (a protocol error) and that receive fails with a reset like
     * every pending one, instead of staying lent to a read that never started.
     */
    @Test
    void aReceiveWaitingForABlockWhoseReadIsRefusedFailsWithTheConnection() throws Exception {
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
            CompletableFuture<Integer> waiting = app.receive(ByteBuffer.allocateDirect(BLOCK)).toCompletableFuture();

            // HELLO, then BLOCK: type, id, length, descriptor length, descriptor (not a UCX one:
            // refused before anything reaches UCX).
            ByteBuffer frames = ByteBuffer.allocate(3 + 11 + 4).put(new byte[] {5, 1, 1}).put((byte) 2).putInt(1)
                    .putInt(BLOCK).putShort((short) 4).put(new byte[4]);
            assertTrue(KitProvider.await(peer.send(raw, frames.array(), Overlapped.Mode.POLL)).isSuccess());

            Exception e = assertThrows(java.util.concurrent.ExecutionException.class, () -> waiting.get(20, TimeUnit.SECONDS));
            assertEquals(WsaError.WSAECONNRESET, assertInstanceOf(WsaException.class, e.getCause()).error());
        }
    }
}
