package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The switch's fast path over the real TCP provider: several provider sends in flight with the
 * stream intact and the application's sends completing in order, only once the provider took their
 * bytes, exactly once also when the connection is aborted or closed meanwhile; large direct buffers
 * sent from their own memory; and receives posted ahead while the bytes of the last one are handed on.
 */
@Timeout(120)
class SwitchFastPathOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private ProviderEngine tcp;
    private WatchedProvider seen;
    private Switch sw;

    @BeforeEach
    void start() {
        tcp = new ProviderEngine(new NioTransport(2, true));
        WatchedProvider.Watched w = WatchedProvider.watch(tcp);
        seen = w.seen();
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(w.spi(), Map.of("sanswitch.transport", "tcp"));
    }

    @AfterEach
    void stop() {
        sw.deactivate();
        assertFalse(tcp.isRunning(), "the switch matched its startup");
    }

    @Test
    void manySendsOfRandomSizesArriveIntactCompletingInOrderOnlyOnceTheProviderTookTheirBytes() throws Exception {
        try (ServerSocket server = slowServer()) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            Random sizes = new Random(11);
            Sequence content = new Sequence(12);
            int count = 400;
            List<CompletableFuture<Integer>> sends = new ArrayList<>();
            List<Integer> completionOrder = Collections.synchronizedList(new ArrayList<>());
            List<String> early = Collections.synchronizedList(new ArrayList<>());
            long total = 0;
            for (int i = 0; i < count; i++) {
                int size = sizes.nextInt(4) == 0 ? 64 * 1024 + sizes.nextInt(200_000) : 1 + sizes.nextInt(20_000);
                byte[] bytes = content.next(size);
                ByteBuffer b = sizes.nextBoolean() ? ByteBuffer.allocateDirect(size).put(bytes).flip() : ByteBuffer.wrap(bytes);
                total += size;
                long through = total;
                int index = i;
                CompletableFuture<Integer> f = s.send(b).toCompletableFuture();
                f.whenComplete((n, e) -> {
                    completionOrder.add(index);
                    long taken = seen.bytesSent();
                    if (taken < through) {
                        early.add("send " + index + " completed when the provider had taken " + taken + " of its "
                                + through + " bytes");
                    }
                });
                sends.add(f);
            }
            try (Socket peer = server.accept()) {
                eventually(() -> seen.mostSendsInProgress() >= 2, "several provider sends in flight");
                assertEquals(total, readChecking(peer.getInputStream(), new Sequence(12), total));
            }
            for (int i = 0; i < count; i++) {
                assertTrue(sends.get(i).get(10, TimeUnit.SECONDS) > 0);
            }
            assertEquals(range(count), completionOrder, "application sends complete in the order they were made");
            assertEquals(List.of(), early);
            s.close();
        }
    }

    @Test
    void aLargeDirectSendGoesFromTheApplicationsOwnMemoryAndItsRegistrationEndsWithIt() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            try (Socket peer = server.accept()) {
                long before = sw.statistics().memoryRegistrations();
                int size = (1 << 20) + 17;
                byte[] bytes = new Sequence(21).next(size);
                ByteBuffer direct = ByteBuffer.allocateDirect(size + 100).position(100);
                direct.duplicate().put(bytes);
                CompletableFuture<Integer> f = s.send(direct).toCompletableFuture();
                assertEquals(size, readChecking(peer.getInputStream(), new Sequence(21), size));
                assertEquals(size, f.get(10, TimeUnit.SECONDS));

                List<WatchedProvider.Registered> mine = seen.registeredForSending().stream()
                        .filter(r -> r.memory().isDirect() && r.memory().remaining() == size).toList();
                assertEquals(1, mine.size(), "one registration of the application's bytes: " + seen.registeredForSending());
                ByteBuffer registered = mine.get(0).memory();
                registered.put(registered.position(), (byte) (direct.get(100) + 1));
                assertEquals(registered.get(registered.position()), direct.get(100),
                        "the registered memory is the application's buffer itself (no copy)");
                assertTrue(seen.released(mine.get(0).handle()), "deregistered once the send was done");
                assertEquals(before, sw.statistics().memoryRegistrations(), "no registration left behind");

                byte[] heapBytes = new Sequence(22).next(size);
                int registrationsSoFar = seen.registeredForSending().size();
                CompletableFuture<Integer> heap = s.send(ByteBuffer.wrap(heapBytes)).toCompletableFuture();
                assertEquals(size, readChecking(peer.getInputStream(), new Sequence(22), size));
                assertEquals(size, heap.get(10, TimeUnit.SECONDS));
                assertTrue(seen.registeredForSending().subList(registrationsSoFar, seen.registeredForSending().size())
                        .stream().noneMatch(r -> r.memory().remaining() == size), "a heap buffer is copied");
            }
            s.abort();
        }
    }

    @Test
    void abortWithSendsInFlightCompletesEverySendExactlyOnceSuccessesFirst() throws Exception {
        try (ServerSocket server = slowServer()) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            try (Socket peer = server.accept()) {
                List<CompletableFuture<Integer>> sends = new ArrayList<>();
                AtomicInteger callbacks = new AtomicInteger();
                for (int i = 0; i < 60; i++) {
                    int size = 300_000 + i;
                    ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
                    CompletableFuture<Integer> f = s.send(b).toCompletableFuture();
                    f.whenComplete((n, e) -> callbacks.incrementAndGet());
                    sends.add(f);
                }
                eventually(() -> seen.mostSendsInProgress() >= 2, "several provider sends in flight");
                s.abort();
                boolean failedBefore = false;
                for (CompletableFuture<Integer> f : sends) {
                    try {
                        f.get(10, TimeUnit.SECONDS);
                        assertFalse(failedBefore, "a send completed after one before it failed");
                    } catch (java.util.concurrent.ExecutionException e) {
                        failedBefore = true;
                        assertEquals(WsaError.WSA_OPERATION_ABORTED,
                                assertInstanceOf(WsaException.class, e.getCause()).error());
                    }
                }
                assertTrue(failedBefore, "the abort failed what was still in flight");
                eventually(() -> callbacks.get() == sends.size(), "every send completed");
                eventually(() -> sw.statistics().connections() == 0 && sw.statistics().totalProviderSockets() == 0,
                        "the connection ended");
                assertEquals(0, sw.statistics().memoryRegistrations(), "registrations counted exactly once each");
                assertEquals(sends.size(), callbacks.get());
            }
        }
    }

    @Test
    void closeWithSendsInFlightDeliversEveryByteThenTheEnd() throws Exception {
        try (ServerSocket server = slowServer()) {
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()));
            try (Socket peer = server.accept()) {
                Sequence content = new Sequence(31);
                List<CompletableFuture<Integer>> sends = new ArrayList<>();
                long total = 0;
                for (int i = 0; i < 40; i++) {
                    int size = 100_000 + 5_000 * i;
                    byte[] bytes = content.next(size);
                    ByteBuffer b = i % 3 == 0 ? ByteBuffer.wrap(bytes) : ByteBuffer.allocateDirect(size).put(bytes).flip();
                    sends.add(s.send(b).toCompletableFuture());
                    total += size;
                }
                eventually(() -> seen.mostSendsInProgress() >= 2, "several provider sends in flight");
                s.close();
                InputStream in = peer.getInputStream();
                assertEquals(total, readChecking(in, new Sequence(31), total));
                assertEquals(-1, in.read(), "the end of the stream after the last byte");
                for (CompletableFuture<Integer> f : sends) {
                    assertTrue(f.get(10, TimeUnit.SECONDS) > 0);
                }
                eventually(() -> sw.statistics().connections() == 0 && sw.statistics().totalProviderSockets() == 0,
                        "the connection ended");
                assertEquals(0, sw.statistics().memoryRegistrations());
            }
        }
    }

    @Test
    void receivesArePostedAheadAndTheStreamCrossesTheirBuffersIntact() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            long total = 24L << 20;
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = client.getOutputStream();
                    Sequence content = new Sequence(41);
                    Random chunks = new Random(42);
                    long left = total;
                    while (left > 0) {
                        byte[] b = content.next((int) Math.min(left, 1 + chunks.nextInt(700_000)));
                        out.write(b);
                        left -= b.length;
                    }
                    client.shutdownOutput();
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            });
            Sequence expected = new Sequence(41);
            Random sizes = new Random(43);
            long got = 0;
            List<CompletableFuture<Integer>> posted = new ArrayList<>();
            List<ByteBuffer> buffers = new ArrayList<>();
            boolean ended = false;
            while (!ended) {
                while (posted.size() < 3) {
                    int size = 1 + sizes.nextInt(400_000);
                    ByteBuffer b = sizes.nextBoolean() ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
                    buffers.add(b);
                    posted.add(s.receive(b).toCompletableFuture());
                }
                int n = posted.remove(0).get(20, TimeUnit.SECONDS);
                ByteBuffer b = buffers.remove(0).flip();
                if (n < 0) {
                    ended = true;
                    continue;
                }
                assertEquals(n, b.remaining());
                byte[] want = expected.next(n);
                byte[] have = new byte[n];
                b.get(have);
                assertTrue(java.util.Arrays.equals(want, have), "bytes " + got + " .. " + (got + n) + " as sent");
                got += n;
            }
            writer.get(20, TimeUnit.SECONDS);
            assertEquals(total, got);
            assertTrue(seen.mostReceivesInProgress() >= 2,
                    "the next receive was posted while one was in progress: " + seen.mostReceivesInProgress());
            s.close();
        }
        listener.close();
    }

    // ------------------------------------------------------------------ helpers

    /** A server whose accepted sockets take little before the sender has to wait. */
    private static ServerSocket slowServer() throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReceiveBufferSize(32 * 1024);
        server.bind(new InetSocketAddress(LOOPBACK, 0), 1);
        return server;
    }

    /** A seeded byte sequence that does not depend on how it is cut into chunks. */
    private static final class Sequence {
        private long state;

        Sequence(long seed) {
            state = seed * 0x9E3779B97F4A7C15L + 1;
        }

        byte[] next(int n) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                state ^= state << 13;
                state ^= state >>> 7;
                state ^= state << 17;
                b[i] = (byte) state;
            }
            return b;
        }
    }

    /** Reads {@code total} bytes, each compared with {@code sequence}; returns how many were read. */
    private static long readChecking(InputStream in, Sequence sequence, long total) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        long read = 0;
        while (read < total) {
            int n = in.read(chunk, 0, (int) Math.min(chunk.length, total - read));
            if (n < 0) {
                break;
            }
            byte[] want = sequence.next(n);
            for (int i = 0; i < n; i++) {
                if (chunk[i] != want[i]) {
                    throw new AssertionError("byte " + (read + i) + " differs from what was sent");
                }
            }
            read += n;
        }
        return read;
    }

    private static List<Integer> range(int n) {
        List<Integer> r = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            r.add(i);
        }
        return r;
    }

    private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + ": not within 20 s");
            Thread.sleep(5);
        }
    }
}
