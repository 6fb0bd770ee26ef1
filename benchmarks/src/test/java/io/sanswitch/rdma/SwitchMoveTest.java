package io.sanswitch.rdma;

import static io.sanswitch.rdma.RoundTrip.roundTrip;
import static io.sanswitch.rdma.RoundTrip.sessionsExchanged;
import static io.sanswitch.rdma.StreamPattern.pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * The move (docs/migration.md section 4) over the real providers: two switches in one JVM, each with
 * its own UCX and its own NIO TCP provider; a connection pinned to ucx streams both ways, mixed DATA
 * and blocks, every byte checked against a pattern of its stream offset (a byte lost, duplicated or
 * reordered shows at its offset) and a SHA-256 of each direction; one side's UCX provider is withdrawn
 * mid-stream as a bundle stop withdraws it.
 */
@Timeout(120)
class SwitchMoveTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final long TOTAL = 48L << 20;
    /** The writers wait here until the connection moved: bytes are in flight at the move, and more go after it. */
    private static final long GATE = 24L << 20;
    private static final long WITHDRAW_AFTER = 4L << 20;
    /** How long a peer whose switch vanished is waited for. */
    private static final Duration RESUME_TIMEOUT = Duration.ofSeconds(3);
    /**
     * The streaming moves' timeout: their peer is there, so it bounds only a failure. On a 2-core
     * machine loaded 15 to 19 deep, moves paused up to 3.7 s and one ran out of 3 s.
     */
    private static final Duration STREAM_RESUME_TIMEOUT = Duration.ofSeconds(20);

    private final Side client = new Side();
    private final Side server = new Side();

    /** One switch with its two providers. */
    private static final class Side {
        Switch sw;
        ProviderEngine ucx;
        ProviderEngine tcp;
        /** What the switch is given for ucx: the engine, or (set before the start) a wrapper of it. */
        UnaryOperator<SanServiceProvider> wrapUcx = UnaryOperator.identity();
        SanServiceProvider ucxBound;

        void start(boolean migrate, Duration resumeTimeout) {
            sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(
                    MigrationSettings.defaults().withMigrate(migrate).withResumeTimeout(resumeTimeout)));
            ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
            tcp = new ProviderEngine(new NioTransport(1, true));
            ucxBound = wrapUcx.apply(ucx);
            sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
            sw.bindProvider(ucxBound, Map.of("sanswitch.transport", "ucx"));
        }

        void stop() {
            if (sw != null) {
                sw.deactivate();
            }
        }
    }

    private record Pair(SwitchSocket client, SwitchSocket server, SwitchServerSocket listener) {
    }

    @AfterEach
    void stop() {
        client.stop();
        server.stop();
    }

    private Pair connect(boolean migrate) throws Exception {
        return connect(migrate, RESUME_TIMEOUT);
    }

    private Pair connect(boolean migrate, Duration resumeTimeout) throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        client.start(migrate, resumeTimeout);
        server.start(migrate, resumeTimeout);
        SwitchServerSocket listener = server.sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket c = client.sw.connect(listener.localAddress(), "ucx");
        SwitchSocket s = accepted.get(20, TimeUnit.SECONDS);
        assertEquals("ucx", c.provider());
        assertEquals("ucx", s.provider());
        return new Pair(c, s, listener);
    }

    /** Sends {@code TOTAL} bytes in mixed sizes, up to 8 sends pending; waits at {@link #GATE} for {@code moved}. */
    private static byte[] write(SwitchSocket s, long seed, CountDownLatch moved) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        Random sizes = new Random(seed);
        ArrayDeque<CompletableFuture<Integer>> pending = new ArrayDeque<>();
        long at = 0;
        int i = 0;
        while (at < TOTAL) {
            if (at >= GATE && !moved.await(30, TimeUnit.SECONDS)) {
                fail("the connection did not move");
            }
            int size = (int) Math.min(TOTAL - at, i % 3 == 0 ? 65 * 1024 + sizes.nextInt(400_000) : 1 + sizes.nextInt(9_000));
            ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
            for (int k = 0; k < size; k++) {
                b.put(pattern(seed, at + k));
            }
            b.flip();
            digest.update(b.duplicate());
            pending.add(s.send(b).toCompletableFuture());
            if (pending.size() > 8) {
                pending.poll().get(30, TimeUnit.SECONDS);
            }
            at += size;
            i++;
        }
        while (!pending.isEmpty()) {
            pending.poll().get(30, TimeUnit.SECONDS);
        }
        return digest.digest();
    }

    /** Reads {@code TOTAL} bytes, checking each against the pattern; {@code progress} counts them. */
    private static byte[] read(SwitchSocket s, long seed, AtomicLong progress) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer into = ByteBuffer.allocateDirect(256 * 1024);
        long at = 0;
        while (at < TOTAL) {
            into.clear();
            int n = s.receive(into).toCompletableFuture().get(30, TimeUnit.SECONDS);
            if (n < 0) {
                fail("the stream ended at " + at + " of " + TOTAL);
            }
            into.flip();
            for (int k = 0; k < n; k++) {
                byte got = into.get(k);
                if (got != pattern(seed, at + k)) {
                    int bad = 0;
                    int zeros = 0;
                    for (int j = k; j < n; j++) {
                        bad += into.get(j) != pattern(seed, at + j) ? 1 : 0;
                        zeros += into.get(j) == 0 ? 1 : 0;
                    }
                    fail("byte " + (at + k) + ": " + got + ", expected " + pattern(seed, at + k) + " (receive of " + n
                            + " bytes from " + at + ": " + bad + " of its last " + (n - k) + " bytes wrong, " + zeros + " zero)");
                }
            }
            digest.update(into);
            at += n;
            progress.set(at);
        }
        return digest.digest();
    }

    /** Streams both ways and withdraws {@code withdrawn}'s UCX provider mid-stream; both directions arrive whole. */
    private void streamThroughTheMove(Side withdrawn) throws Exception {
        Pair p = connect(true, STREAM_RESUME_TIMEOUT);
        CountDownLatch moved = new CountDownLatch(1);
        AtomicLong atServer = new AtomicLong();
        AtomicLong atClient = new AtomicLong();
        CompletableFuture<byte[]> up = Async.run(() -> write(p.client(), 1, moved));
        CompletableFuture<byte[]> down = Async.run(() -> write(p.server(), 2, moved));
        CompletableFuture<byte[]> upRead = Async.run(() -> read(p.server(), 1, atServer));
        CompletableFuture<byte[]> downRead = Async.run(() -> read(p.client(), 2, atClient));
        Eventually.until("some MiB went each way over ucx", () -> atServer.get() >= WITHDRAW_AFTER
                && atClient.get() >= WITHDRAW_AFTER || up.isDone() || down.isDone() || upRead.isDone() || downRead.isDone());
        assertEquals("ucx", p.client().provider());
        // What a bundle stop does: the provider's service goes, the switch withdraws it and cleans it up.
        withdrawn.sw.unbindProvider(withdrawn.ucx);
        Eventually.until("both ends moved to tcp (client " + p.client().provider() + ", server " + p.server().provider() + ")",
                () -> "tcp".equals(p.client().provider()) && "tcp".equals(p.server().provider())
                        || upRead.isDone() || downRead.isDone());
        moved.countDown();
        try {
            awaitAll(List.of(up, upRead, down, downRead), 90);
            assertArrayEquals(up.get(), upRead.get(), "client -> server");
            assertArrayEquals(down.get(), downRead.get(), "server -> client");
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the stream stopped: server read " + atServer.get() + ", client read " + atClient.get()
                    + " of " + TOTAL + "; client " + p.client() + ", server " + p.server() + "; client writer "
                    + state(up) + ", server reader " + state(upRead) + ", server writer " + state(down) + ", client reader "
                    + state(downRead), e);
        }
        assertEquals("tcp", p.client().provider());
        assertEquals("tcp", p.server().provider());
        assertTrue(p.client().isOpen() && p.server().isOpen());
        // SW-migrate-visible: the side whose provider went says so, its peer that its connection failed.
        assertEquals(withdrawn == client ? ProviderMove.Cause.PROVIDER_WITHDRAWN : ProviderMove.Cause.CONNECTION_FAILED,
                p.client().choice().move().cause(), p.client().history().toString());
        assertEquals(withdrawn == server ? ProviderMove.Cause.PROVIDER_WITHDRAWN : ProviderMove.Cause.CONNECTION_FAILED,
                p.server().choice().move().cause(), p.server().history().toString());
        // The moved connection still closes gracefully: the peer reads the end of the stream.
        p.client().close();
        assertEquals(-1, p.server().receive(ByteBuffer.allocate(16)).toCompletableFuture().get(20, TimeUnit.SECONDS));
        p.server().close();
        p.listener().close();
    }

    @Test
    @Checks({"SW-migrate-trigger", "SW-migrate-connector-dials", "SW-established", "SW-withdrawn"})
    void theClientsProviderGoesAndTheStreamGoesOnOverTcp() throws Exception {
        streamThroughTheMove(client);
    }

    @Test
    @Checks({"SW-migrate-trigger", "SW-migrate-connector-dials"})
    void theServersProviderGoesAndTheStreamGoesOnOverTcp() throws Exception {
        streamThroughTheMove(server);
    }

    /** Without migration the same withdrawal ends the stream: what the move changes. */
    @Test
    @Checks("SW-withdrawn")
    void withoutMigrationTheWithdrawalEndsTheConnection() throws Exception {
        Pair p = connect(false);
        CompletableFuture<Integer> pending = p.client().receive(ByteBuffer.allocate(64)).toCompletableFuture();
        client.sw.unbindProvider(client.ucx);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> pending.get(20, TimeUnit.SECONDS));
        assertEquals(WsaError.WSA_OPERATION_ABORTED, assertInstanceOf(WsaException.class, e.getCause()).error());
    }

    /**
     * A peer whose switch vanished (its TCP provider and resume port gone, then its UCX provider): the
     * move's dial finds nothing, and the connection fails with WSAECONNRESET within the resume timeout.
     */
    @Test
    @Checks("SW-migrate-death")
    void aPeerThatVanishedFailsTheConnectionWithAReset() throws Exception {
        Pair p = connect(true);
        sessionsExchanged(p.client(), p.server());
        CompletableFuture<Integer> pending = p.client().receive(ByteBuffer.allocate(64)).toCompletableFuture();
        server.sw.unbindProvider(server.tcp);
        server.sw.unbindProvider(server.ucx);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> pending.get(RESUME_TIMEOUT.toMillis() + 10_000, TimeUnit.MILLISECONDS));
        WsaException w = assertInstanceOf(WsaException.class, e.getCause());
        assertEquals(WsaError.WSAECONNRESET, w.error(), w.getMessage());
        assertTrue(w.getMessage().contains("move"), w.getMessage());
    }

    /**
     * docs/rules.md SW-migrate-visible: a connection that moved says so: its history (the first choice,
     * then the move with its cause and pause), its choice, the REASON column of {@code san:sockets} for the
     * provider socket now carrying it, and the switch's count of moves. Round trips each way before and
     * after the client's UCX provider is withdrawn.
     */
    @Test
    @Checks({"SW-migrate-visible", "SW-migrate-trigger", "SW-migrate-connector-dials", "SW-own-sockets"})
    void aMovedConnectionShowsEachProviderItWasOnAndWhyItMoved() throws Exception {
        Pair p = connect(true);
        sessionsExchanged(p.client(), p.server());
        ProviderChoice pinned = new ProviderChoice("ucx", Reason.PINNED, null);
        assertEquals(List.of(pinned), p.client().history());
        assertEquals(Reason.ACCEPTED, p.server().choice().reason());
        Moved m = withdrawUcx(p, client);
        Instant before = m.before();
        Instant after = m.after();

        List<ProviderChoice> atClient = p.client().history();
        assertEquals(2, atClient.size(), atClient.toString());
        assertEquals(pinned, atClient.get(0));
        assertEquals(atClient.get(1), p.client().choice(), "choice() is the last of the history");
        ProviderMove clientMove = movedToTcp(p.client().choice(), before, after);
        assertEquals(ProviderMove.Cause.PROVIDER_WITHDRAWN, clientMove.cause(), "the client's own provider went");
        assertNull(p.client().choice().rdmaError());

        List<ProviderChoice> atServer = p.server().history();
        assertEquals(2, atServer.size(), atServer.toString());
        assertEquals(Reason.ACCEPTED, atServer.get(0).reason());
        assertEquals("ucx", atServer.get(0).provider());
        ProviderMove serverMove = movedToTcp(p.server().choice(), before, after);
        assertEquals(ProviderMove.Cause.CONNECTION_FAILED, serverMove.cause(), "the server's ucx still runs, its peer's went");

        assertEquals("PINNED: the application asked for ucx; moved ucx -> tcp (provider withdrawn, paused "
                + clientMove.pause().toMillis() + " ms)", reasonOfConnected(client));
        String serverReason = reasonOfConnected(server);
        assertTrue(serverReason.startsWith("ACCEPTED: accepted on port " + p.server().localAddress().getPort()
                + "; moved ucx -> tcp (connection failed"), serverReason);
        assertTrue(serverReason.endsWith(", paused " + serverMove.pause().toMillis() + " ms)"), serverReason);
        assertEquals(1L, client.sw.statistics().connectsByReason().get("MOVED"));
        assertEquals(1L, server.sw.statistics().connectsByReason().get("MOVED"));
        // docs/rules.md SW-own-sockets: the resume socket that carries the session now is the switch's
        // own, counted among the connections and apart.
        for (Side side : List.of(client, server)) {
            SwitchStatistics s = side.sw.statistics();
            assertEquals(1, s.switchConnections(), s.toString());
            assertEquals(2, s.connections(), "the application's and the resume socket: " + s);
        }
        p.client().close();
        p.server().close();
        p.listener().close();
    }

    /**
     * docs/rules.md SW-migrate-early: the side whose provider is withdrawn begins its move before the
     * provider's cleanup and tells its peer with MOVE; the peer (here the client, which dials) moves on
     * that frame, not on its socket's failure: its move has no provider error. The server's cleanup is
     * held until the client has moved, so a MOVE cannot be overtaken by the cleanup's reset here (the
     * switch waits only for the MOVE's send, which UCX may still drop at a forced close); without the
     * MOVE the client would learn only from that reset, and the held cleanup fails the withdrawal.
     */
    @Test
    @Checks({"SW-migrate-early", "SW-migrate-connector-dials"})
    void theSideWhoseProviderGoesTellsItsPeerWithMove() throws Exception {
        // The server's cleanup waits until the client has moved: only a MOVE can tell it before the
        // cleanup's reset, so without the MOVE the client never moves in time and the withdrawal fails.
        AtomicReference<SwitchSocket> clientEnd = new AtomicReference<>();
        server.wrapUcx = ucx -> cleanupAfter(ucx, "the client moved to tcp before the server's ucx cleanup",
                () -> "tcp".equals(clientEnd.get().provider()));
        Pair p = connect(true);
        clientEnd.set(p.client());
        sessionsExchanged(p.client(), p.server());
        Moved m = withdrawUcx(p, server);
        assertEquals(ProviderMove.Cause.PROVIDER_WITHDRAWN, movedToTcp(p.server().choice(), m.before(), m.after()).cause());
        assertEquals(ProviderMove.Cause.CONNECTION_FAILED, movedToTcp(p.client().choice(), m.before(), m.after()).cause());
        assertNull(p.client().choice().rdmaError(), "the client moved on the server's MOVE, not on a failure of its socket: "
                + p.client().history());
        p.client().close();
        p.server().close();
        p.listener().close();
    }

    /**
     * docs/rules.md SW-migrate-early for a session that moved back (docs/migration.md section 6): it runs
     * over a resume socket of its own over UCX, and a withdrawal of the server's UCX provider tells the
     * client with MOVE on that socket too. Held as above: the server's cleanup waits until the client
     * moved to tcp, which without the MOVE it learns only from that cleanup's reset.
     */
    @Test
    @Checks({"SW-migrate-early", "SW-migrate-back"})
    void aSessionMovedBackTellsItsPeerWithMoveToo() throws Exception {
        AtomicReference<SwitchSocket> clientEnd = new AtomicReference<>();
        server.wrapUcx = ucx -> cleanupAfter(ucx, "the client moved to tcp before the server's ucx cleanup",
                () -> "tcp".equals(clientEnd.get().provider()));
        Pair p = connect(true);
        sessionsExchanged(p.client(), p.server());
        withdrawUcx(p, client);
        client.ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        client.ucxBound = client.ucx;
        client.sw.bindProvider(client.ucxBound, Map.of("sanswitch.transport", "ucx"));
        Eventually.until("both ends back on ucx (client " + p.client().provider() + ", server " + p.server().provider() + ")",
                () -> "ucx".equals(p.client().provider()) && "ucx".equals(p.server().provider()));
        assertEquals(ProviderMove.Cause.PROVIDER_RETURNED, p.client().choice().move().cause(), p.client().history().toString());
        roundTrip(p.client(), p.server());
        roundTrip(p.server(), p.client());
        clientEnd.set(p.client());
        Moved m = withdrawUcx(p, server);
        assertEquals(ProviderMove.Cause.PROVIDER_WITHDRAWN, movedToTcp(p.server().choice(), m.before(), m.after()).cause());
        assertEquals(ProviderMove.Cause.CONNECTION_FAILED, movedToTcp(p.client().choice(), m.before(), m.after()).cause());
        p.client().close();
        p.server().close();
        p.listener().close();
    }

    /** {@code spi}, whose {@code cleanup} waits (bounded, failing the caller) until {@code ready} holds. */
    private static SanServiceProvider cleanupAfter(SanServiceProvider spi, String what, BooleanSupplier ready) {
        return (SanServiceProvider) Proxy.newProxyInstance(SwitchMoveTest.class.getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, method, args) -> {
                    if (method.getName().equals("cleanup")) {
                        Eventually.until(what, ready);
                    }
                    if (method.getName().equals("equals")) {
                        return proxy == args[0];
                    }
                    if (method.getName().equals("hashCode")) {
                        return System.identityHashCode(proxy);
                    }
                    try {
                        return method.invoke(spi, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** When the withdrawal began, and when a round trip each way over tcp had ended after it. */
    private record Moved(Instant before, Instant after) {
    }

    /** Withdraws {@code side}'s UCX provider; both ends move to tcp and carry a round trip each way. */
    private static Moved withdrawUcx(Pair p, Side side) throws Exception {
        Instant before = Instant.now();
        side.sw.unbindProvider(side.ucxBound);
        Eventually.until("both ends moved to tcp (client " + p.client().provider() + ", server " + p.server().provider() + ")",
                () -> "tcp".equals(p.client().provider()) && "tcp".equals(p.server().provider()));
        roundTrip(p.client(), p.server());
        roundTrip(p.server(), p.client());
        return new Moved(before, Instant.now());
    }

    /** A choice made by a move from ucx to tcp, begun after {@code before} and resumed before {@code after}. */
    private static ProviderMove movedToTcp(ProviderChoice c, Instant before, Instant after) {
        assertEquals("tcp", c.provider(), c.toString());
        assertEquals(Reason.MOVED, c.reason(), c.toString());
        ProviderMove m = c.move();
        assertEquals("ucx", m.from());
        assertFalse(m.when().isBefore(before), m + " began before the withdrawal at " + before);
        assertFalse(m.when().plus(m.pause()).isAfter(after), m + " resumed after the round trips over tcp at " + after);
        return m;
    }

    /** {@code san:sockets}' REASON for the one connected TCP socket of {@code side}'s switch that the switch knows. */
    private static String reasonOfConnected(Side side) {
        List<String> reasons = side.tcp.sockets().stream().filter(s -> "CONNECTED".equals(s.role()))
                .map(s -> side.sw.reasonFor("tcp", s.switchHandle())).filter(r -> r != null).toList();
        assertEquals(1, reasons.size(), "one connection over tcp: " + reasons);
        return reasons.get(0);
    }

    /**
     * Waits for every worker; the first that fails ends the wait with its failure (a reader whose
     * check failed stops reading, and its writer would otherwise time out first).
     */
    private static void awaitAll(List<CompletableFuture<?>> workers, long seconds) throws Exception {
        CompletableFuture<Object> failed = new CompletableFuture<>();
        workers.forEach(w -> w.whenComplete((v, e) -> {
            if (e != null) {
                failed.completeExceptionally(e);
            }
        }));
        CompletableFuture.anyOf(CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)), failed)
                .get(seconds, TimeUnit.SECONDS);
    }

    /** A worker's state for the message of a stalled run: a reader that failed stops reading too. */
    private static String state(CompletableFuture<?> f) {
        if (!f.isDone()) {
            return "running";
        }
        try {
            f.getNow(null);
            return "done";
        } catch (RuntimeException e) {
            return "failed (" + e.getCause() + ")";
        }
    }
}
