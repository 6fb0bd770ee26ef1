package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.core.CleanupReason;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.tcp.NioTransport;

/**
 * {@code san:bench} through a switch over the real NIO backend (the scripted one moves no bytes):
 * its figures are consistent with what moved, it never takes a startup reference of its own (the
 * switch's stays the only one, docs/rules.md Q11), it leaves no socket behind, and a provider withdrawn
 * under it ends it with a clear message.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SanBenchOverNioTest {
    private ProviderEngine engine;
    private Switch sw;
    private SanCommands commands;

    private static long nioThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> t.getName().startsWith("sanswitch-tcp-")).count();
    }

    @BeforeEach
    void aSwitchOverNio() {
        engine = new ProviderEngine(new NioTransport(1, true));
        // No SAN subnet at all: the bench's pinned connect must not depend on one. The provider's sockets are
        // counted and listed as the bench's alone: without migration, whose resume port is a provider socket of
        // its own (docs/rules.md SW-migrate-port).
        sw = new Switch(SwitchSettings.withSubnets().withMigration(MigrationSettings.defaults().withMigrate(false)));
        sw.bindProvider(engine, Map.of("sanswitch.transport", "tcp"));
        commands = new SanCommands();
        commands.socketSwitch = sw;
        commands.reasons = sw;
        commands.addProvider(engine, Map.of("service.id", 3L));
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    private void eventually(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(5);
        }
    }

    @Test
    void benchMovesCheckedChunksAndEchoesThroughTheSwitchAndLeavesOnlyTheSwitchsStartup() throws Exception {
        LoopbackBench.Result r = new LoopbackBench(sw, "tcp", () -> false).run(Duration.ofSeconds(1));

        assertEquals("tcp", r.provider());
        assertTrue(r.bytes() >= LoopbackBench.CHUNK && r.bytes() % LoopbackBench.CHUNK == 0, "bytes " + r.bytes());
        assertTrue(r.streamNanos() >= 700_000_000L, "the stream ran for its share of the time: " + r.streamNanos());
        assertTrue(r.roundTrips() >= 100, "round trips " + r.roundTrips());
        assertTrue(r.medianRoundTripNanos() > 0 && r.medianRoundTripNanos() <= r.p99RoundTripNanos(),
                r.medianRoundTripNanos() + " / " + r.p99RoundTripNanos());
        assertEquals("RUNNING", engine.status().state());
        assertEquals(1, engine.status().referenceCount(), "the switch's startup only: the bench took none");
        assertEquals(0, engine.status().finalCleanups());
        assertEquals(1L, sw.statistics().connectsByReason().get("PINNED"), "one pinned connect");
        assertEquals(1L, sw.statistics().connectsByReason().get("ACCEPTED"), "and its accepted side");
        eventually(() -> engine.status().openSockets() == 0 && sw.statistics().connections() == 0,
                "the bench's sockets closed: " + engine.status() + " " + sw.statistics());
    }

    @Test
    void theCommandPrintsOneAlignedRowWithUnits() throws Exception {
        String text = commands.benchText("tcp", "1");
        List<String> lines = text.lines().toList();
        assertEquals(7, lines.size(), text);
        assertTrue(lines.get(0).startsWith("PROVIDER"), text);
        // Round trips in µs, or in ms on a loaded machine.
        assertTrue(lines.get(1).matches("tcp\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s\\s+\\d+\\s+\\d+ (µs|ms)\\s+\\d+ (µs|ms)"),
                lines.get(1));
        assertEquals(lines.get(0).length(), lines.get(1).length(), "right-aligned last column ends where its header ends");
        // Then the memory: idle before, with the one connection open, idle after the traffic.
        assertEquals("", lines.get(2), text);
        assertTrue(lines.get(3).startsWith("MEMORY"), text);
        String bytes = "\\d+(\\.\\d)? (B|KiB|MiB|GiB)";
        String known = Files.isReadable(MemorySample.STATUS) ? bytes : "-";
        assertTrue(lines.get(4).matches("idle before\\s+" + known + "\\s+" + known + "\\s+" + bytes + "\\s+-"), lines.get(4));
        String change = Files.isReadable(MemorySample.STATUS) ? "[+-]" + bytes : "-";
        assertTrue(lines.get(5).matches("one connection open\\s+" + known + "\\s+" + known + "\\s+" + bytes + "\\s+" + change),
                lines.get(5));
        assertTrue(lines.get(6).matches("idle after traffic\\s+" + known + "\\s+" + known + "\\s+" + bytes + "\\s+" + change),
                lines.get(6));
    }

    @Test
    void whileTheBenchRunsSanSocketsShowsItsPinnedSocketsWithTheSwitchsReason() throws Exception {
        CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
            try {
                return commands.benchText("tcp", "3");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        eventually(() -> engine.status().openSockets() >= 3, "the bench's listener and connection");
        // Each socket gets its reason once the switch's connect or accept has finished, a moment after
        // the engine counts the socket: wait for both rather than sample once.
        eventually(() -> commands.socketsText("tcp").contains("ACCEPTED: accepted on port ")
                && commands.socketsText("tcp").contains("PINNED: the application asked for tcp"), "both sockets' reasons");
        String text = commands.socketsText("tcp");
        System.out.println(text);
        List<String> rows = text.lines().skip(1).toList();
        assertEquals(3, rows.size(), text);
        assertTrue(rows.stream().anyMatch(r -> r.contains("LISTENING") && r.contains("LISTENING: switch listener 127.0.0.1:")
                && r.endsWith("pinned to tcp")), text);
        assertTrue(rows.stream().anyMatch(r -> r.contains("CONNECTED") && r.endsWith("PINNED: the application asked for tcp")),
                text);
        assertTrue(rows.stream().anyMatch(r -> r.contains("CONNECTED") && r.contains("ACCEPTED: accepted on port ")), text);
        assertTrue(bench.get(20, TimeUnit.SECONDS).startsWith("PROVIDER"));
    }

    @Test
    void aProviderWithdrawnDuringTheBenchEndsItWithAClearMessageAndNoThreadLeft() throws Exception {
        CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
            try {
                return commands.benchText("tcp", "5");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        eventually(() -> engine.status().openSockets() >= 3, "the bench's listener and connection");
        // Mid-stream: the bench's chunks are moving through the provider.
        long sentBefore = engine.bytesSent();
        eventually(() -> engine.bytesSent() >= sentBefore + 2L * LoopbackBench.CHUNK, "the bench streaming");
        // What a bundle stop does: the core marks the engine leaving and unregisters it (the commands
        // and the switch let go; the switch's cleanup is the final one), then forces the final cleanup.
        engine.markLeaving();
        commands.removeProvider(engine);
        sw.unbindProvider(engine);
        engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING);

        String text = bench.get(20, TimeUnit.SECONDS);
        assertTrue(text.startsWith("san:bench on tcp failed: ") && text.contains("cleaned up during the bench"), text);
        assertEquals("IDLE", engine.status().state());
        assertEquals(1, engine.cleanupHistory().size(), "one final cleanup: the switch's release of its startup");
        assertEquals(CleanupReason.TRANSPORT_LEAVING, engine.cleanupHistory().get(0).reason(),
                "it ran because the backend leaves, though the switch's cleanup took the count to zero");
        assertEquals(3, engine.cleanupHistory().get(0).socketsReset(), "listener, client and accepted socket");
        // Whether a transfer was in flight at that instant is timing: the aborted count is not judged.
        eventually(() -> nioThreads() == 0, "a NIO thread outlived the cleanup");
    }
}
