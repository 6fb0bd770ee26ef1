package io.sanswitch.rdma;

import static io.sanswitch.rdma.StreamPattern.pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.api.SwitchStatistics;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * The move (docs/migration.md section 4) between two processes: this JVM's switch and a
 * {@link SwitchMovePeer} in a child JVM, each with its own UCX and NIO TCP provider and {@code migrate}
 * on, one connection pinned to ucx whose bytes the child echoes. A child killed with SIGKILL
 * mid-stream fails the connection with {@code WSAECONNRESET} once the resume is found absent, never
 * as a move (docs/rules.md SW-migrate-death); the child's UCX provider withdrawn mid-stream moves the
 * connection to TCP with every byte in place.
 */
@Timeout(120)
class SwitchPeerDeathTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration RESUME_TIMEOUT = Duration.ofMillis(2000);
    /**
     * How long a failure may take after the kill: the connector dials until the resume timeout and a
     * dial under way has its own (docs/migration.md section 4), so at most about twice the timeout;
     * the rest is margin for a loaded machine, not a measure.
     */
    private static final long FAILS_WITHIN_MS = 2 * RESUME_TIMEOUT.toMillis() + 15_000;
    /** Echoed before the kill; the withdrawal comes after half of it. */
    private static final long WARM = 4L << 20;
    /**
     * How far the writer may be ahead of the echo in the cases that test something else (an unbounded
     * flood has its own case, {@link #anEchoFloodedBeyondTheHighWater}).
     */
    private static final long WINDOW = 4L << 20;
    /** More than the held child can take (its switch reads ahead 8 MiB, this side retains 16 MiB): it stays pending. */
    private static final int BIG_SEND = 48 << 20;

    private Switch sw;
    private Peer peer;
    /** Both switches migrate (the child's too). */
    private boolean migrate;

    @AfterEach
    void stop() throws InterruptedException {
        if (peer != null) {
            peer.destroy();
        }
        if (sw != null) {
            sw.deactivate();
        }
    }

    /** This process's switch: both providers, migrate on. */
    private void startSwitch() {
        startSwitch(true);
    }

    private void startSwitch(boolean migrate) {
        this.migrate = migrate;
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(
                MigrationSettings.defaults().withMigrate(migrate).withResumeTimeout(RESUME_TIMEOUT)));
        sw.bindProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("sanswitch.transport", "tcp"));
        sw.bindProvider(new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "")),
                Map.of("sanswitch.transport", "ucx"));
    }

    /** A connection pinned to ucx with the child: the child accepts ({@code server}) or connects ({@code client}). */
    private SwitchSocket connect(String childRole) throws Exception {
        if (childRole.equals("server")) {
            peer = new Peer(migrate, "server");
            int port = Integer.parseInt(peer.await("PORT ").substring(5).trim());
            SwitchSocket s = sw.connect(new InetSocketAddress(LOOPBACK, port), "ucx");
            assertEquals("CONNECTED ucx", peer.await("CONNECTED"));
            return s;
        }
        SwitchServerSocket listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        peer = new Peer(migrate, "client", String.valueOf(listener.localAddress().getPort()));
        assertEquals("CONNECTED ucx", peer.await("CONNECTED"));
        SwitchSocket s = accepted.get(20, TimeUnit.SECONDS);
        listener.close();
        return s;
    }

    // ------------------------------------------------------------------ the peer killed

    /**
     * docs/rules.md SW-migrate-death, issue 13 point 2: the child killed with SIGKILL while this side
     * streams to it. UCX reports the peer's death as the connection's failure, which is a trigger for
     * a move (SW-migrate-trigger); the connector then dials the dead peer's resume port, refused,
     * until the resume timeout; the acceptor waits for a dial that never comes. Either way what is
     * pending fails with a reset naming the failed move, later calls fail too, the connection never
     * reports tcp, and nothing of it stays in the switch.
     */
    @ParameterizedTest(name = "the child {0}")
    @ValueSource(strings = {"server", "client"})
    @Checks({"SW-migrate-death", "SW-migrate-trigger"})
    void aPeerKilledMidStreamFailsTheConnectionWithAReset(String childRole) throws Exception {
        startSwitch();
        SwitchStatistics before = sw.statistics();
        SwitchSocket s = connect(childRole);
        assertEquals("ucx", s.provider());
        echo(s, WARM, null, null);
        List<WsaException> failures = killWhileSendingAndReceiving(s, "child " + childRole);
        for (WsaException e : failures) {
            assertEquals(WsaError.WSAECONNRESET, e.error(), e.getMessage());
            assertTrue(e.getMessage().contains("the move from ucx failed"), e.getMessage());
            assertTrue(e.getMessage().contains(childRole.equals("server") ? "resume of session" : "no resume within"),
                    e.getMessage());
        }
        // A dead peer never looks like a migration: the connection did not go on over tcp.
        assertEquals("ucx", s.provider());
        expectBrokenAndNothingLeft(s, before);
    }

    /**
     * docs/rules.md SW-migrate-death after a move: the child killed once the connection runs over tcp.
     * The resume socket's failure starts a second move (SW-migrate-back: a moved session moves again),
     * whose dial finds nobody: the connection fails with a reset naming it, never goes on.
     */
    @Test
    @Checks({"SW-migrate-death", "SW-migrate-back"})
    void aPeerKilledAfterTheMoveFailsTheConnectionWithAReset() throws Exception {
        startSwitch();
        SwitchStatistics before = sw.statistics();
        SwitchSocket s = connect("server");
        echo(s, WARM / 2, null, null);
        peer.command("withdraw", "WITHDRAWN");
        Eventually.until("this end moved to tcp (" + s + ")", () -> "tcp".equals(s.provider()) || !s.isOpen());
        echo(s, WARM / 2, null, null);
        for (WsaException e : killWhileSendingAndReceiving(s, "child server, after the move")) {
            assertEquals(WsaError.WSAECONNRESET, e.error(), e.getMessage());
            assertTrue(e.getMessage().contains("the move from tcp failed"), e.getMessage());
        }
        assertEquals("tcp", s.provider());
        expectBrokenAndNothingLeft(s, before);
    }

    /**
     * The child stops echoing, this side sends more than it can take and waits for a receive, and the
     * child is killed (SIGKILL): both fail within {@link #FAILS_WITHIN_MS}; their failures.
     */
    private List<WsaException> killWhileSendingAndReceiving(SwitchSocket s, String label) throws Exception {
        // The child stops echoing: what it receives next stays there, and this side's receive waits.
        peer.command("hold", "HOLDING");
        CompletableFuture<Integer> receive = s.receive(ByteBuffer.allocate(64 * 1024)).toCompletableFuture();
        CompletableFuture<Integer> send = s.send(ByteBuffer.wrap(patternBytes(3, BIG_SEND))).toCompletableFuture();
        Eventually.until("the big send under way (bytes sent and not yet acknowledged)", () -> sw.retainedBytes() > 0);
        assertFalse(send.isDone(), "the held child cannot take " + BIG_SEND + " bytes");
        assertFalse(receive.isDone(), "the held child echoes nothing");

        long killedAt = System.nanoTime();
        peer.kill();

        WsaException receiveFailed = failure(receive, "the pending receive");
        WsaException sendFailed = failure(send, "the pending send");
        System.out.printf("[sigkill, %s] the pending receive and send failed %d ms after the kill: %s%n", label,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt), receiveFailed.getMessage());
        return List.of(receiveFailed, sendFailed);
    }

    /** Later calls fail with a reset, close works, and the switch keeps nothing of the connection. */
    private void expectBrokenAndNothingLeft(SwitchSocket s, SwitchStatistics before) throws Exception {
        assertFalse(s.isOpen());
        assertEquals(WsaError.WSAECONNRESET, failure(s.send(ByteBuffer.wrap(new byte[] {1})).toCompletableFuture(),
                "a later send").error());
        assertEquals(WsaError.WSAECONNRESET, failure(s.receive(ByteBuffer.allocate(16)).toCompletableFuture(),
                "a later receive").error());
        s.close();
        Eventually.until("nothing of the connection left in the switch (before " + before + ", now " + sw.statistics()
                + ", parked " + sw.parkedSessions() + ")", () -> {
                    SwitchStatistics now = sw.statistics();
                    return now.connections() == before.connections()
                            && now.providerSockets().getOrDefault("ucx", 0).equals(before.providerSockets().getOrDefault("ucx", 0))
                            && now.providerSockets().getOrDefault("tcp", 0).equals(before.providerSockets().getOrDefault("tcp", 0))
                            && sw.parkedSessions() == 0 && sw.retainedBytes() == 0;
                });
    }

    private static WsaException failure(CompletableFuture<?> f, String what) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(FAILS_WITHIN_MS, TimeUnit.MILLISECONDS),
                what + " did not fail");
        return assertInstanceOf(WsaException.class, e.getCause(), what);
    }

    // ------------------------------------------------------------------ the child's provider withdrawn

    /**
     * docs/rules.md SW-migrate-trigger, SW-migrate-connector-dials between two processes: the child's
     * UCX provider withdrawn (as its bundle stop would) while bytes go both ways; the stream goes on
     * over tcp, every byte at its offset.
     */
    @ParameterizedTest(name = "the child {0}")
    @ValueSource(strings = {"server", "client"})
    @Checks({"SW-migrate-trigger", "SW-migrate-connector-dials"})
    void theChildsProviderGoesAndTheStreamGoesOnOverTcp(String childRole) throws Exception {
        startSwitch();
        SwitchSocket s = connect(childRole);
        long total = 16L << 20;
        CountDownLatch moved = new CountDownLatch(1);
        AtomicLong read = new AtomicLong();
        CompletableFuture<Void> withdrawn = Async.run(() -> {
            Eventually.until("some MiB echoed over ucx", () -> read.get() >= WARM / 2);
            assertEquals("ucx", s.provider());
            peer.command("withdraw", "WITHDRAWN");
            Eventually.until("this end moved to tcp (" + s + ")", () -> "tcp".equals(s.provider()) || !s.isOpen());
            moved.countDown();
            return null;
        });
        try {
            echo(s, total, moved, read);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("the stream stopped at " + read.get() + " of " + total + ": " + s + "; the child: "
                    + peer.commandQuietly("provider"), e);
        }
        withdrawn.get(20, TimeUnit.SECONDS);
        assertEquals("tcp", s.provider());
        // The child's count lags: it counts a send once complete, which may be after this side read it.
        String child = peer.command("provider", "PROVIDER");
        assertTrue(child.startsWith("PROVIDER tcp "), child);
        // The moved connection still closes gracefully: the child reads the end of the stream.
        s.close();
        assertEquals("EOF " + total, peer.await("EOF"));
    }

    /**
     * docs/rules.md SW-credit: the writer is not held within {@link #WINDOW} of the echo. The child
     * waits for its echo's send to complete (read flow: at the peer's DONE) before it reads again, so
     * more than the 8 MiB window waits for it; its switch must still read the frames behind that data,
     * the DONE among them. Before credits it stopped reading at 8 MiB waiting and the echo stopped for
     * good (at 1.7 to 3.0 MiB echoed, every run, migrate off and on), where over TCP it would not.
     */
    @ParameterizedTest(name = "migrate {0}")
    @ValueSource(booleans = {false, true})
    @Checks("SW-credit")
    void anEchoFloodedBeyondTheHighWater(boolean migrate) throws Exception {
        startSwitch(migrate);
        SwitchSocket s = connect("server");
        AtomicLong read = new AtomicLong();
        try {
            echo(s, 24L << 20, null, read, Long.MAX_VALUE);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("the echo stopped at " + read.get() + ": " + s + "; the child: "
                    + peer.commandQuietly("provider"), e);
        }
    }

    // ------------------------------------------------------------------ streaming


    private static byte[] patternBytes(long seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = pattern(seed, (long) i);
        }
        return b;
    }

    /**
     * Sends {@code total} bytes of pattern 1 in mixed sizes (DATA and blocks, direct and heap, up to 8
     * pending) and reads the child's echo of them, each byte checked at its offset and the SHA-256 of
     * both compared. With {@code gate}, the writer waits at half way until it opens.
     */
    private static void echo(SwitchSocket s, long total, CountDownLatch gate, AtomicLong progress) throws Exception {
        echo(s, total, gate, progress != null ? progress : new AtomicLong(), WINDOW);
    }

    private static void echo(SwitchSocket s, long total, CountDownLatch gate, AtomicLong progress, long window) throws Exception {
        CompletableFuture<byte[]> sent = Async.run(() -> write(s, total, gate, progress, window));
        byte[] received;
        try {
            received = read(s, total, progress);
        } catch (AssertionError | Exception e) {
            if (sent.isCompletedExceptionally()) {
                e.addSuppressed(assertThrows(ExecutionException.class, sent::get).getCause());
            }
            throw e;
        }
        assertArrayEquals(sent.get(60, TimeUnit.SECONDS), received, "the echo's SHA-256");
    }

    private static byte[] write(SwitchSocket s, long total, CountDownLatch gate, AtomicLong echoed, long window) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        Random sizes = new Random(total);
        ArrayDeque<CompletableFuture<Integer>> pending = new ArrayDeque<>();
        long at = 0;
        for (int i = 0; at < total; i++) {
            if (gate != null && at >= total / 2 && !gate.await(30, TimeUnit.SECONDS)) {
                fail("the connection did not move");
            }
            long from = at;
            if (at - echoed.get() > window) {
                Eventually.until("the echo within " + window + " bytes of " + from, () -> from - echoed.get() <= window);
            }
            int size = (int) Math.min(total - at, i % 3 == 0 ? 65 * 1024 + sizes.nextInt(400_000) : 1 + sizes.nextInt(9_000));
            ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
            for (int k = 0; k < size; k++) {
                b.put(pattern(1, at + k));
            }
            b.flip();
            digest.update(b.duplicate());
            pending.add(s.send(b).toCompletableFuture());
            if (pending.size() > 8) {
                pending.poll().get(30, TimeUnit.SECONDS);
            }
            at += size;
        }
        while (!pending.isEmpty()) {
            pending.poll().get(30, TimeUnit.SECONDS);
        }
        return digest.digest();
    }

    private static byte[] read(SwitchSocket s, long total, AtomicLong progress) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer into = ByteBuffer.allocateDirect(256 * 1024);
        long at = 0;
        while (at < total) {
            into.clear().limit((int) Math.min(into.capacity(), total - at));
            int n = s.receive(into).toCompletableFuture().get(30, TimeUnit.SECONDS);
            if (n < 0) {
                fail("the echo ended at " + at + " of " + total);
            }
            into.flip();
            for (int k = 0; k < n; k++) {
                if (into.get(k) != pattern(1, at + k)) {
                    fail("byte " + (at + k) + ": " + into.get(k) + ", expected " + pattern(1, at + k));
                }
            }
            digest.update(into);
            at += n;
            progress.set(at);
        }
        return digest.digest();
    }


    // ------------------------------------------------------------------ the child JVM

    /** A {@link SwitchMovePeer} in a child JVM on this test's class path; its lines, its commands. */
    private static final class Peer {
        private final Process process;
        private final Writer commands;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Peer(boolean migrate, String... args) throws IOException {
            List<String> command = new java.util.ArrayList<>(List.of(
                    System.getProperty("java.home") + File.separator + "bin" + File.separator + "java", "-Xmx1g",
                    "-D" + SwitchMovePeer.MIGRATE + "=" + migrate, "-cp", System.getProperty("java.class.path"), SwitchMovePeer.class.getName(),
                    String.valueOf(RESUME_TIMEOUT.toMillis())));
            command.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("UCX_ERROR_SIGNALS", ""); // docs/toolchain.md TC-12: UCX's handlers stay out of the JVM
            process = pb.start();
            commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null;) {
                        System.out.println("[peer] " + line);
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the child is gone; await says so
                }
                lines.add("EXITED");
            }, "peer output");
            reader.setDaemon(true);
            reader.start();
        }

        /** The child's next line starting with {@code prefix} (a FAILED line or its end fails the test). */
        String await(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() - deadline < 0) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null && line.startsWith(prefix)) {
                    return line;
                }
                if (line != null && (line.startsWith("FAILED") || line.equals("EXITED"))) {
                    lines.add(line); // later waits see it too
                    throw new AssertionError("the child, waiting for " + prefix + ": " + line);
                }
            }
            throw new AssertionError("the child never printed " + prefix);
        }

        /** Sends {@code command}, returns its answer's line. */
        String command(String command, String answer) throws IOException, InterruptedException {
            commands.write(command + "\n");
            commands.flush();
            return await(answer);
        }

        /** For a failure's message: the child's state, or why there is none. */
        String commandQuietly(String command) {
            try {
                commands.write(command + "\n");
                commands.flush();
                return String.join("; ", List.of(lines.poll(5, TimeUnit.SECONDS) + ""));
            } catch (IOException | InterruptedException e) {
                return "no answer: " + e;
            }
        }

        /** SIGKILL ({@link Process#destroyForcibly()} on Linux); the process is gone after it. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the child outlived SIGKILL");
            assertFalse(process.toHandle().isAlive());
            assertEquals(137, process.exitValue(), "128 + SIGKILL");
        }

        void destroy() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        }
    }
}
