package io.sanswitch.rdma;

import static io.sanswitch.rdma.RoundTrip.roundTrip;
import static io.sanswitch.rdma.RoundTrip.sessionsExchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * docs/rules.md SW-migrate-fence over the real providers: a migrating connection reads the peer's
 * blocks straight into the application's waiting receives, and at a move a receive lent to a read
 * still in flight on the old carrier waits for that read's completion. Two switches in one JVM, each
 * with UCX and NIO; the server's UCX provider is seen through a proxy that holds the read into the
 * first receive's buffer, as a provider slow to give back a cancelled read may: it completes it only
 * after the session has resumed over TCP and the server acknowledged the bytes sent again, and
 * writes stray bytes into the buffer first (a provider writes into a read's memory until it has
 * completed the read). The receives must then hold the stream's bytes in order.
 */
@Timeout(120)
class SwitchMoveFenceTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int BLOCK = 256 * 1024;
    private static final int TAIL = 100;
    /** The first receive's buffer, known to the proxy by its capacity. */
    private static final int HELD_CAPACITY = BLOCK + 8;
    private static final Duration RESUME_TIMEOUT = Duration.ofSeconds(20);

    private Switch clientSwitch;
    private Switch serverSwitch;
    private ProviderEngine clientUcx;

    /** The read held by the proxy: its buffer, where it reads, and its overlapped. */
    private record Held(ByteBuffer registered, int offset, int length, Overlapped overlapped) {
    }

    private final Map<MemoryHandle, ByteBuffer> registered = new ConcurrentHashMap<>();
    private final List<Held> held = new CopyOnWriteArrayList<>();
    private final CountDownLatch holding = new CountDownLatch(1);
    private volatile UpcallTable upcalls;
    /** The capacities of the local buffers reads went into, held or not. */
    private final List<Integer> readInto = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (clientSwitch != null) {
            clientSwitch.deactivate();
        }
        if (serverSwitch != null) {
            serverSwitch.deactivate();
        }
    }

    private static Switch migrating() {
        return new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(
                MigrationSettings.defaults().withMigrate(true).withResumeTimeout(RESUME_TIMEOUT)));
    }

    /** The server's UCX provider, the read into the first receive's buffer held (never handed to UCX). */
    private SanServiceProvider holding(ProviderEngine engine) {
        return (SanServiceProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, m, args) -> {
                    if (m.getName().equals("startupEx")) {
                        upcalls = (UpcallTable) args[2];
                    }
                    if (m.getName().equals("rdmaRead")) {
                        WsaBuf into = ((WsaBuf[]) args[1])[0];
                        ByteBuffer b = registered.get(into.registration());
                        readInto.add(b == null ? -1 : b.capacity());
                        if (b != null && b.capacity() == HELD_CAPACITY && held.isEmpty()) {
                            held.add(new Held(b, into.offset(), into.length(), (Overlapped) args[5]));
                            holding.countDown();
                            return null;
                        }
                    }
                    Object result;
                    try {
                        result = m.invoke(engine, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (m.getName().equals("registerMemory")) {
                        registered.put((MemoryHandle) result, (ByteBuffer) args[1]);
                    }
                    return result;
                });
    }

    /** The byte at {@code offset} of the test's stream. */
    private static byte pattern(long offset) {
        long x = (offset + 7) * 0x9E3779B97F4A7C15L;
        return (byte) (x >>> 56 ^ offset);
    }

    private static ByteBuffer patterned(ByteBuffer b, long from) {
        for (int k = 0; b.hasRemaining(); k++) {
            b.put(pattern(from + k));
        }
        return b.flip();
    }

    private static void assertPattern(ByteBuffer got, long from, String what) {
        for (int k = 0; k < got.remaining(); k++) {
            byte b = got.get(got.position() + k);
            if (b != pattern(from + k)) {
                throw new AssertionError(what + ": byte " + (from + k) + " of the stream is " + b + ", expected "
                        + pattern(from + k) + " (" + got.remaining() + " bytes from " + from + ")");
            }
        }
    }

    @Test
    @Checks({"SW-migrate-fence", "SW-migrate-trigger"})
    void aReceiveLentToAReadInFlightAtTheMoveWaitsForThatRead() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        clientSwitch = migrating();
        clientUcx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        clientSwitch.bindProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("sanswitch.transport", "tcp"));
        clientSwitch.bindProvider(clientUcx, Map.of("sanswitch.transport", "ucx"));
        serverSwitch = migrating();
        serverSwitch.bindProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("sanswitch.transport", "tcp"));
        serverSwitch.bindProvider(holding(new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""))),
                Map.of("sanswitch.transport", "ucx"));
        SwitchServerSocket listener = serverSwitch.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket client = clientSwitch.connect(listener.localAddress(), "ucx");
        SwitchSocket server = accepted.get(20, TimeUnit.SECONDS);
        sessionsExchanged(client, server);

        // Two blocks and a tail: the first block is read into the first receive (held), the second
        // into the second receive (read, waiting for the first), the tail waits for the third.
        ByteBuffer first = ByteBuffer.allocateDirect(HELD_CAPACITY);
        ByteBuffer second = ByteBuffer.allocateDirect(BLOCK + 16);
        ByteBuffer third = ByteBuffer.allocate(TAIL);
        List<Integer> completed = new CopyOnWriteArrayList<>();
        CompletableFuture<Integer> r1 = server.receive(first).toCompletableFuture();
        CompletableFuture<Integer> r2 = server.receive(second).toCompletableFuture();
        CompletableFuture<Integer> r3 = server.receive(third).toCompletableFuture();
        r1.thenRun(() -> completed.add(1));
        r2.thenRun(() -> completed.add(2));
        r3.thenRun(() -> completed.add(3));
        List<CompletableFuture<Integer>> sent = List.of(
                client.send(patterned(ByteBuffer.allocateDirect(BLOCK), 0)).toCompletableFuture(),
                client.send(patterned(ByteBuffer.allocateDirect(BLOCK), BLOCK)).toCompletableFuture(),
                client.send(patterned(ByteBuffer.allocate(TAIL), 2L * BLOCK)).toCompletableFuture());
        assertTrue(holding.await(20, TimeUnit.SECONDS), "the first block was read straight into the first receive: reads into "
                + readInto);
        Eventually.until("the second block's read into the second receive was posted", () -> readInto.contains(BLOCK + 16));

        // The client's provider goes: the server's connection fails, the session moves to TCP.
        clientSwitch.unbindProvider(clientUcx);
        Eventually.until("both ends moved to tcp (client " + client.provider() + ", server " + server.provider() + ")",
                () -> "tcp".equals(client.provider()) && "tcp".equals(server.provider()));
        for (CompletableFuture<Integer> s : sent) {
            s.get(20, TimeUnit.SECONDS);
        }
        // The bytes sent again arrived at the server and were counted (the client's retention
        // is acknowledged): a receive not fenced would have them now.
        Eventually.until("the server acknowledged what was sent again", () -> clientSwitch.retainedBytes() == 0);
        assertFalse(r1.isDone() || r2.isDone() || r3.isDone(),
                "no receive completes while the read lent the first one is in flight: " + r1 + ", " + r2 + ", " + r3);

        // The provider gives the read back: stray bytes into its memory up to then, and aborted.
        Held h = held.get(0);
        ByteBuffer stray = h.registered().duplicate();
        for (int k = 0; k < h.length(); k++) {
            stray.put(h.offset() + k, (byte) 0x5A);
        }
        upcalls.completeOverlappedRequest(0, h.overlapped(), OverlappedResult.failure(WsaError.WSA_OPERATION_ABORTED, 0));

        // Over TCP a receive completes with what has arrived (as over a connection made over tcp):
        // the three receives hold the stream from its start, in order, and the rest follows.
        int n1 = r1.get(20, TimeUnit.SECONDS);
        int n2 = r2.get(20, TimeUnit.SECONDS);
        int n3 = r3.get(20, TimeUnit.SECONDS);
        Eventually.until("the receives' completions are recorded", () -> completed.size() == 3);
        assertEquals(List.of(1, 2, 3), completed, "the receives complete in the order they were made");
        assertPattern(first.flip(), 0, "first receive");
        assertPattern(second.flip(), n1, "second receive");
        assertPattern(third.flip(), (long) n1 + n2, "third receive");
        long at = (long) n1 + n2 + n3;
        ByteBuffer rest = ByteBuffer.allocateDirect(BLOCK);
        while (at < 2L * BLOCK + TAIL) {
            int n = server.receive(rest.clear()).toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertTrue(n > 0, "the stream ended at " + at);
            assertPattern(rest.flip(), at, "a receive after the move");
            at += n;
        }
        // The connection goes on.
        roundTrip(client, server);
        roundTrip(server, client);
        client.close();
        assertEquals(-1, server.receive(ByteBuffer.allocate(4)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        server.close();
        listener.close();
    }
}
