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
import java.util.Set;
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
import io.sanswitch.testing.Eventually;

/**
 * The switch's fast path over the real TCP provider: several provider sends in flight with the
 * stream intact and the application's sends completing in order, only once the provider took their
 * bytes, exactly once also when the connection is aborted or closed meanwhile; large direct buffers
 * sent from their own memory; receives posted ahead while the bytes of the last one are handed on; and
 * large direct receives lent to the provider, which fills the application's buffer itself, in stream
 * order, each answered exactly once also when the connection ends meanwhile.
 */
@Timeout(120)
class SwitchFastPathOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private ProviderEngine tcp;
    private WatchedProvider seen;
    private Switch sw;
    /** The switch's own provider sockets, no connection's: its resume port (migrate on, docs/rules.md SW-migrate-port). */
    private int ownSockets;

    @BeforeEach
    void start() {
        tcp = new ProviderEngine(new NioTransport(2, true));
        WatchedProvider.Watched w = WatchedProvider.watch(tcp);
        seen = w.seen();
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(w.spi(), Map.of("sanswitch.transport", "tcp"));
        ownSockets = sw.statistics().totalProviderSockets();
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
                eventually(() -> sw.statistics().connections() == 0 && sw.statistics().totalProviderSockets() == ownSockets,
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
                eventually(() -> sw.statistics().connections() == 0 && sw.statistics().totalProviderSockets() == ownSockets,
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

    @Test
    void largeDirectReceivesAreFilledByTheProviderInTheApplicationsOwnBuffer() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            int size = 300_007;
            List<ByteBuffer> buffers = new ArrayList<>();
            List<CompletableFuture<Integer>> posted = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(size + 50).position(50);
                buffers.add(b);
                posted.add(s.receive(b).toCompletableFuture());
            }
            OutputStream out = client.getOutputStream();
            Sequence content = new Sequence(51);
            out.write(content.next(10)); // the receive the switch posted at the start takes these
            assertEquals(10, posted.get(0).get(20, TimeUnit.SECONDS));
            eventually(() -> lentInto(Set.of(size)).size() == 2, "the next receives were posted into the application's buffers");
            out.write(content.next(2 * size));
            Sequence expected = new Sequence(51);
            assertTrue(java.util.Arrays.equals(expected.next(10), bytesOf(buffers.get(0), 50)));
            long got = 0;
            for (int i = 1; got < 2 * size; i++) {
                if (i >= posted.size()) {
                    ByteBuffer b = ByteBuffer.allocateDirect(size + 50).position(50);
                    buffers.add(b);
                    posted.add(s.receive(b).toCompletableFuture());
                }
                int n = posted.get(i).get(20, TimeUnit.SECONDS);
                assertEquals(50 + n, buffers.get(i).position(), "the receive's position advanced by its count");
                assertTrue(java.util.Arrays.equals(expected.next(n), bytesOf(buffers.get(i), 50)), "bytes as sent");
                got += n;
            }
            WatchedProvider.ReceiveInto first = lentInto(Set.of(size)).get(0);
            ByteBuffer application = buffers.get(1);
            first.memory().put(0, (byte) (application.get(50) + 1));
            assertEquals(first.memory().get(0), application.get(50),
                    "the provider received into the application's buffer itself (no copy)");
            for (WatchedProvider.ReceiveInto r : lentInto(Set.of(size))) {
                assertTrue(seen.released(r.handle()), "a lent buffer's registration ends with its receive");
            }
            s.close();
            eventually(() -> sw.statistics().connections() == 0, "the connection ended");
            assertEquals(0, sw.statistics().memoryRegistrations());
        }
        listener.close();
    }

    @Test
    void aStreamReceivedIntoLargeDirectAndSmallHeapBuffersArrivesExactly() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            long total = 16L << 20;
            java.util.concurrent.atomic.AtomicLong taken = new java.util.concurrent.atomic.AtomicLong();
            // Each chunk once the last was taken: the receives wait for the bytes, as when the
            // application keeps up (when it does not, the switch reads ahead into its own buffers).
            CompletableFuture<Void> writer = write(client, new Sequence(61), new Random(62), total, taken);
            Sequence expected = new Sequence(61);
            Random sizes = new Random(63);
            Set<Integer> directSizes = new java.util.HashSet<>();
            long got = 0;
            List<CompletableFuture<Integer>> posted = new ArrayList<>();
            List<ByteBuffer> buffers = new ArrayList<>();
            boolean ended = false;
            while (!ended) {
                while (posted.size() < 3) {
                    ByteBuffer b;
                    if (sizes.nextInt(3) == 0) {
                        b = ByteBuffer.allocate(1 + sizes.nextInt(20_000));
                    } else {
                        int size = 64 * 1024 + sizes.nextInt(600_000);
                        directSizes.add(size);
                        b = ByteBuffer.allocateDirect(size);
                    }
                    buffers.add(b);
                    posted.add(s.receive(b).toCompletableFuture());
                }
                int n = posted.remove(0).get(20, TimeUnit.SECONDS);
                ByteBuffer b = buffers.remove(0);
                if (n < 0) {
                    ended = true;
                    continue;
                }
                assertEquals(n, b.position());
                assertTrue(java.util.Arrays.equals(expected.next(n), bytesOf(b, 0)), "bytes " + got + " .. " + (got + n) + " as sent");
                got += n;
                taken.set(got);
            }
            writer.get(20, TimeUnit.SECONDS);
            assertEquals(total, got);
            directSizes.remove(256 * 1024); // the size of the switch's own receive buffers
            // How many depends on the timing (a receive posted while the switch's ring holds bytes
            // ahead is served from the ring): 9 of them in one loaded run; the path must be taken.
            assertTrue(lentInto(directSizes).size() >= 1,
                    "the provider received into the application's direct buffers: " + lentInto(directSizes).size());
            s.close();
            eventually(() -> sw.statistics().connections() == 0, "the connection ended");
            assertEquals(0, sw.statistics().memoryRegistrations());
        }
        listener.close();
    }

    @Test
    void abortWithLentReceivesFailsEachOnceAndReleasesTheirRegistrations() throws Exception {
        endWithLentReceives(SwitchSocket::abort);
    }

    @Test
    void closeWithLentReceivesFailsEachOnceAndReleasesTheirRegistrations() throws Exception {
        endWithLentReceives(SwitchSocket::close);
    }

    private void endWithLentReceives(java.util.function.Consumer<SwitchSocket> end) throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            List<CompletableFuture<Integer>> posted = lendThree(s, client);
            AtomicInteger answers = new AtomicInteger();
            posted.forEach(f -> f.whenComplete((n, e) -> answers.incrementAndGet()));
            end.accept(s);
            for (CompletableFuture<Integer> f : posted) {
                java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                        java.util.concurrent.ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
                assertEquals(WsaError.WSA_OPERATION_ABORTED, assertInstanceOf(WsaException.class, e.getCause()).error());
            }
            eventually(() -> sw.statistics().connections() == 0, "the connection ended");
            eventually(() -> lentInto(Set.of(200_001, 200_002, 200_003)).stream().allMatch(r -> r.overlapped().isDone()),
                    "the provider's receives into the application's buffers ended");
            assertEquals(0, sw.statistics().memoryRegistrations(), "registrations counted exactly once each");
            assertEquals(posted.size(), answers.get());
        }
        listener.close();
    }

    @Test
    void thePeerClosingEndsTheLentReceivesAfterItsLastBytes() throws Exception {
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        try (Socket client = new Socket(LOOPBACK, listener.localAddress().getPort())) {
            SwitchSocket s = listener.accept();
            List<CompletableFuture<Integer>> lent = lendThree(s, client);
            client.getOutputStream().write(new Sequence(71).next(5000));
            client.shutdownOutput();
            int got = 0;
            int ends = 0;
            for (CompletableFuture<Integer> f : lent) {
                int n = f.get(20, TimeUnit.SECONDS);
                if (n < 0) {
                    ends++;
                } else {
                    assertEquals(0, ends, "bytes after the end");
                    got += n;
                }
            }
            assertEquals(5000, got, "the peer's last bytes");
            assertTrue(ends >= 1, "a lent receive saw the end of the stream");
            assertEquals(-1, s.receive(ByteBuffer.allocateDirect(100_000)).toCompletableFuture().get(20, TimeUnit.SECONDS),
                    "and so does every later one");
            s.close();
            eventually(() -> sw.statistics().connections() == 0, "the connection ended");
            assertEquals(0, sw.statistics().memoryRegistrations());
        }
        listener.close();
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Posts four large direct receives; the peer's first 10 bytes go to the first through the receive
     * the switch posted at the start, then the other three are lent to the provider.
     *
     * @return the three lent receives, waiting for bytes
     */
    private List<CompletableFuture<Integer>> lendThree(SwitchSocket s, Socket client) throws Exception {
        CompletableFuture<Integer> first = s.receive(ByteBuffer.allocateDirect(200_000)).toCompletableFuture();
        List<CompletableFuture<Integer>> lent = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            lent.add(s.receive(ByteBuffer.allocateDirect(200_000 + i)).toCompletableFuture());
        }
        client.getOutputStream().write(new byte[10]);
        assertEquals(10, first.get(20, TimeUnit.SECONDS));
        Set<Integer> sizes = Set.of(200_001, 200_002, 200_003);
        eventually(() -> lentInto(sizes).stream().filter(r -> r.overlapped().isInProgress()).count() == 3,
                "three receives posted into the application's buffers");
        return lent;
    }

    /** The provider receives posted into memory of one of these sizes (application buffers). */
    private List<WatchedProvider.ReceiveInto> lentInto(Set<Integer> sizes) {
        return seen.receivesInto().stream().filter(r -> r.memory().isDirect() && sizes.contains(r.memory().capacity())).toList();
    }

    /** The bytes of {@code b} from {@code from} to its position. */
    private static byte[] bytesOf(ByteBuffer b, int from) {
        byte[] bytes = new byte[b.position() - from];
        b.duplicate().position(from).get(bytes);
        return bytes;
    }

    /**
     * Writes {@code total} bytes of {@code content} in random chunks, each once the reader has
     * {@code taken} every byte before it, then shuts the output down.
     */
    private static CompletableFuture<Void> write(Socket client, Sequence content, Random chunks, long total,
            java.util.concurrent.atomic.AtomicLong taken) {
        return CompletableFuture.runAsync(() -> {
            try {
                OutputStream out = client.getOutputStream();
                long left = total;
                while (left > 0) {
                    byte[] b = content.next((int) Math.min(left, 1 + chunks.nextInt(700_000)));
                    out.write(b);
                    left -= b.length;
                    while (taken.get() < total - left) {
                        java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    }
                }
                client.shutdownOutput();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        });
    }

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
        Eventually.until(what, condition);
    }
}
