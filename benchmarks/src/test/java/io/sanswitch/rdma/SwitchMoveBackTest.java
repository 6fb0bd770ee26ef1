package io.sanswitch.rdma;

import static io.sanswitch.rdma.RoundTrip.sessionsExchanged;
import static io.sanswitch.rdma.StreamPattern.pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * The move back (docs/migration.md section 6, docs/rules.md SW-migrate-back) over the real providers:
 * two switches in one JVM, each with its own UCX and NIO TCP provider; a connection on ucx streams
 * both ways, every byte checked at its stream offset and a SHA-256 per direction, while the UCX
 * provider is withdrawn (as a bundle stop withdraws it) and bound again, on the client's side, the
 * server's and both, {@value #DEFAULT_CYCLES} cycle of each by default ({@code -Dsanswitch.moveback.cycles=N}
 * for more). Each time the connection moves to tcp and, once UCX runs on both sides again, back to ucx,
 * with bytes in flight at every withdrawal and every return.
 */
@Timeout(300)
class SwitchMoveBackTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int DEFAULT_CYCLES = 1;
    private static final int CYCLES = Integer.getInteger("sanswitch.moveback.cycles", DEFAULT_CYCLES);
    /** What the writers may send more at each step: bytes are in flight at every withdrawal and return. */
    private static final long STEP = 8L << 20;
    /** Bounds only a failure: the peer is there. */
    private static final Duration RESUME_TIMEOUT = Duration.ofSeconds(20);

    private final Side client = new Side();
    private final Side server = new Side();

    /** One switch with its two providers; its UCX provider is replaced at every return. */
    private static final class Side {
        Switch sw;
        volatile ProviderEngine ucx;
        ProviderEngine tcp;
        Duration resumeTimeout = RESUME_TIMEOUT;

        void start() {
            sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(
                    MigrationSettings.defaults().withMigrate(true).withResumeTimeout(resumeTimeout)));
            tcp = new ProviderEngine(new NioTransport(1, true));
            sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
            bindUcx();
        }

        /** What a bundle start does: a new provider service, which the switch binds. */
        void bindUcx() {
            ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
            sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        }

        /** What a bundle stop does: the provider's service goes, the switch withdraws it and cleans it up. */
        void withdrawUcx() {
            sw.unbindProvider(ucx);
        }

        void stop() {
            if (sw != null) {
                sw.deactivate();
            }
        }
    }

    /** How far a writer may go: raised step by step by the test, waited on by the writers. */
    private static final class Allowance {
        private long bytes;
        private boolean last;

        synchronized void raise(long by) {
            bytes += by;
            notifyAll();
        }

        /** No more steps: the writers end at what they may send now. */
        synchronized void finish() {
            last = true;
            notifyAll();
        }

        /** Blocks until something beyond {@code at} may go; returns how much of {@code size} (0: the stream ends). */
        synchronized long await(long at, long size) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (bytes <= at && !last) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("no allowance beyond " + at + " within 120 s");
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return Math.max(0, Math.min(size, bytes - at));
        }

        synchronized long total() {
            return bytes;
        }
    }

    @AfterEach
    void stop() {
        client.stop();
        server.stop();
    }

    /** Sends as far as the allowance goes, in mixed sizes (DATA frames and blocks), up to 8 sends pending. */
    private static long[] write(SwitchSocket s, long seed, Allowance allowance, MessageDigest digest) throws Exception {
        Random sizes = new Random(seed);
        ArrayDeque<CompletableFuture<Integer>> pending = new ArrayDeque<>();
        long at = 0;
        for (int i = 0;; i++) {
            int want = i % 3 == 0 ? 65 * 1024 + sizes.nextInt(400_000) : 1 + sizes.nextInt(9_000);
            int size = (int) allowance.await(at, want);
            if (size <= 0) {
                break;
            }
            ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
            for (int k = 0; k < size; k++) {
                b.put(pattern(seed, at + k));
            }
            b.flip();
            digest.update(b.duplicate());
            pending.add(s.send(b).toCompletableFuture());
            if (pending.size() > 8) {
                pending.poll().get(60, TimeUnit.SECONDS);
            }
            at += size;
        }
        while (!pending.isEmpty()) {
            pending.poll().get(60, TimeUnit.SECONDS);
        }
        return new long[] {at};
    }

    /**
     * Reads until the connection ends, checking each byte against the pattern; {@code digest} has
     * every byte counted by {@code progress} when it is counted.
     */
    private static byte[] read(SwitchSocket s, long seed, AtomicLong progress, MessageDigest digest) throws Exception {
        ByteBuffer into = ByteBuffer.allocateDirect(256 * 1024);
        long at = 0;
        while (true) {
            into.clear();
            int n = s.receive(into).toCompletableFuture().get(120, TimeUnit.SECONDS);
            if (n < 0) {
                return null;
            }
            into.flip();
            for (int k = 0; k < n; k++) {
                if (into.get(k) != pattern(seed, at + k)) {
                    fail("byte " + (at + k) + ": " + into.get(k) + ", expected " + pattern(seed, at + k));
                }
            }
            digest.update(into);
            at += n;
            progress.set(at);
        }
    }

    private enum Where {
        CLIENT, SERVER, BOTH
    }

    @Test
    @Checks({"SW-migrate-back", "SW-migrate-trigger", "SW-migrate-exactly-once"})
    void theStreamMovesToTcpAndBackToUcxWhicheverSidesProviderGoesAndReturns() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        Pair p = connectedOverUcx();
        SwitchServerSocket listener = p.listener();
        SwitchSocket c = p.client();
        SwitchSocket s = p.server();
        assertEquals("ucx", s.provider());
        // Both sides have the other's SESSION first, so the session can move from the first withdrawal on.
        sessionsExchanged(c, s);

        Allowance up = new Allowance();
        Allowance down = new Allowance();
        MessageDigest upSent = MessageDigest.getInstance("SHA-256");
        MessageDigest downSent = MessageDigest.getInstance("SHA-256");
        AtomicLong atServer = new AtomicLong();
        AtomicLong atClient = new AtomicLong();
        CompletableFuture<long[]> upWriter = Async.run(() -> write(c, 1, up, upSent));
        CompletableFuture<long[]> downWriter = Async.run(() -> write(s, 2, down, downSent));
        MessageDigest upRead = MessageDigest.getInstance("SHA-256");
        MessageDigest downRead = MessageDigest.getInstance("SHA-256");
        CompletableFuture<byte[]> upReader = Async.run(() -> read(s, 1, atServer, upRead));
        CompletableFuture<byte[]> downReader = Async.run(() -> read(c, 2, atClient, downRead));
        List<CompletableFuture<?>> workers = List.of(upWriter, downWriter, upReader, downReader);

        List<String> log = new ArrayList<>();
        for (int cycle = 1; cycle <= CYCLES; cycle++) {
            for (Where where : Where.values()) {
                // Bytes in flight at the withdrawal: the writers may go on by a step, and do.
                up.raise(STEP);
                down.raise(STEP);
                if (where != Where.SERVER) {
                    client.withdrawUcx();
                }
                if (where != Where.CLIENT) {
                    server.withdrawUcx();
                }
                awaitProvider("tcp", c, s, workers);
                up.raise(STEP);
                down.raise(STEP);
                if (where != Where.SERVER) {
                    client.bindUcx();
                }
                if (where != Where.CLIENT) {
                    server.bindUcx();
                }
                awaitProvider("ucx", c, s, workers);
                try {
                    Eventually.until("the steps arrived",
                            () -> atServer.get() == up.total() && atClient.get() == down.total() || anyFailed(workers));
                } catch (AssertionError e) {
                    throw new AssertionError("the steps did not arrive (server " + atServer.get() + " of " + up.total()
                            + ", client " + atClient.get() + " of " + down.total() + "; workers done: " + workers.stream()
                            .map(CompletableFuture::isDone).toList() + "): client " + c + ", server " + s, e);
                }
                rethrowFailure(workers);
                for (SwitchSocket end : List.of(c, s)) {
                    ProviderChoice last = end.choice();
                    assertEquals(ProviderChoice.Reason.MOVED, last.reason(), end.history().toString());
                    assertEquals("tcp", last.move().from(), end.history().toString());
                    assertEquals(ProviderMove.Cause.PROVIDER_RETURNED,
                            last.move().cause(), "both ends say why: " + end.history());
                }
                log.add("cycle " + cycle + " " + where + ": " + c.history().get(c.history().size() - 2).move().pause().toMillis()
                        + " ms to tcp, " + c.choice().move().pause().toMillis() + " ms back to ucx");
            }
        }
        up.finish();
        down.finish();
        long upTotal = upWriter.get(120, TimeUnit.SECONDS)[0];
        long downTotal = downWriter.get(120, TimeUnit.SECONDS)[0];
        Eventually.until("every byte arrived", () -> atServer.get() == upTotal && atClient.get() == downTotal
                || anyFailed(workers));
        rethrowFailure(workers);
        log.forEach(l -> System.out.println("[move-back] " + l));
        // The readers wait in their next receive now: the digests have every byte.
        assertArrayEquals(upSent.digest(), upRead.digest(), "client -> server");
        assertArrayEquals(downSent.digest(), downRead.digest(), "server -> client");
        // Every move counted, also those the bounded history no longer lists (docs/rules.md SW-migrate-visible).
        assertEquals(2 * 3 * CYCLES, c.history().size() - 1 + c.movesLeftOut(), c.history().toString());
        // The moved connection still closes gracefully: the peer reads the end of the stream.
        c.close();
        assertEquals(null, upReader.get(60, TimeUnit.SECONDS), "the server reads the end of the stream");
        s.close();
        listener.close();
    }

    /**
     * docs/migration.md section 6: the connector moving back waits for the peer's end of the TCP socket
     * after its MOVE; an application that reads nothing must not hold that back. Its buffer is full (and
     * the resume socket's too) when the move back begins; the socket's end is seen by reading past them,
     * what is read so dropped (the resume sends it again). The resume timeout is longer than the wait
     * for the move back: without the drain the connector would go only at that timeout.
     */
    @Test
    @Checks({"SW-migrate-back", "SW-migrate-exactly-once"})
    void anApplicationThatReadsNothingDoesNotHoldTheMoveBack() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        client.resumeTimeout = Duration.ofSeconds(300);
        server.resumeTimeout = client.resumeTimeout;
        Pair p = connectedOverUcx();
        SwitchServerSocket listener = p.listener();
        SwitchSocket c = p.client();
        SwitchSocket s = p.server();
        sessionsExchanged(c, s);
        client.withdrawUcx();
        awaitProvider("tcp", c, s, List.of());

        Allowance down = new Allowance();
        down.raise(48L << 20);
        down.finish();
        MessageDigest downSent = MessageDigest.getInstance("SHA-256");
        CompletableFuture<long[]> writer = Async.run(() -> write(s, 2, down, downSent));
        // No API shows what a connection holds for its application; its description does (the last inbound[...]).
        Eventually.until("the client's buffer is full: " + c, () -> buffered(c) >= 8L << 20 || writer.isCompletedExceptionally());
        client.bindUcx();
        awaitProvider("ucx", c, s, List.of(writer));

        AtomicLong atClient = new AtomicLong();
        MessageDigest downRead = MessageDigest.getInstance("SHA-256");
        CompletableFuture<byte[]> reader = Async.run(() -> read(c, 2, atClient, downRead));
        long total = writer.get(120, TimeUnit.SECONDS)[0];
        Eventually.until("every byte arrived", () -> atClient.get() == total || reader.isCompletedExceptionally());
        rethrowFailure(List.of(reader));
        assertArrayEquals(downSent.digest(), downRead.digest(), "server -> client");
        assertEquals(ProviderMove.Cause.PROVIDER_RETURNED, c.choice().move().cause(), c.history().toString());
        c.close();
        s.close();
        listener.close();
    }

    private record Pair(SwitchSocket client, SwitchSocket server, SwitchServerSocket listener) {
    }

    /** Both switches started, and a connection pinned to ucx from the client to a listener of the server. */
    private Pair connectedOverUcx() throws Exception {
        client.start();
        server.start();
        SwitchServerSocket listener = server.sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket c = client.sw.connect(listener.localAddress(), "ucx");
        return new Pair(c, accepted.get(20, TimeUnit.SECONDS), listener);
    }

    /** What {@code s} holds for its application, from its description's last {@code inbound[...]}. */
    private static long buffered(SwitchSocket s) {
        String d = s.toString();
        int at = d.lastIndexOf("buffered ");
        if (at < 0) {
            return 0;
        }
        int end = at + "buffered ".length();
        while (end < d.length() && Character.isDigit(d.charAt(end))) {
            end++;
        }
        return Long.parseLong(d.substring(at + "buffered ".length(), end));
    }

    private static void awaitProvider(String provider, SwitchSocket c, SwitchSocket s, List<CompletableFuture<?>> workers)
            throws Exception {
        Eventually.until("both ends on " + provider + " (client " + c.provider() + " " + c.history() + ", server "
                + s.provider() + " " + s.history() + ")",
                () -> provider.equals(c.provider()) && provider.equals(s.provider()) || anyFailed(workers));
        rethrowFailure(workers);
    }

    private static boolean anyFailed(List<CompletableFuture<?>> workers) {
        return workers.stream().anyMatch(CompletableFuture::isCompletedExceptionally);
    }

    private static void rethrowFailure(List<CompletableFuture<?>> workers) throws Exception {
        for (CompletableFuture<?> w : workers) {
            if (w.isCompletedExceptionally()) {
                w.get();
            }
        }
    }
}
