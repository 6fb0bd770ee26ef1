package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.core.CleanupReason;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.tcp.NioTransport;

/**
 * {@code san:bench} over the real NIO backend (the scripted one moves no bytes): its figures are
 * consistent with what moved, and it leaves the provider as it found it, even when the provider
 * is cleaned up under it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SanBenchOverNioTest {

    private static long nioThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> t.getName().startsWith("sanswitch-tcp-")).count();
    }

    @Test
    void benchMovesCheckedChunksAndEchoesThenReleasesEverything() throws Exception {
        ProviderEngine engine = new ProviderEngine(new NioTransport(1, true));
        LoopbackBench.Result r = new LoopbackBench(engine, "tcp").run(java.time.Duration.ofSeconds(1));

        assertEquals("tcp", r.provider());
        assertTrue(r.bytes() >= LoopbackBench.CHUNK && r.bytes() % LoopbackBench.CHUNK == 0, "bytes " + r.bytes());
        assertTrue(r.streamNanos() >= 700_000_000L, "the stream ran for its share of the time: " + r.streamNanos());
        assertTrue(r.roundTrips() >= 100, "round trips " + r.roundTrips());
        assertTrue(r.medianRoundTripNanos() > 0 && r.medianRoundTripNanos() <= r.p99RoundTripNanos(),
                r.medianRoundTripNanos() + " / " + r.p99RoundTripNanos());
        assertEquals("IDLE", engine.status().state(), "the bench's startup was released");
        assertEquals(0, engine.status().openSockets());
        assertEquals(1, engine.status().finalCleanups());
        assertEquals(0, engine.cleanupHistory().get(0).socketsReset(), "its sockets were closed before, none left to reset");
        assertEquals(0, engine.cleanupHistory().get(0).operationsAborted());
    }

    @Test
    void theCommandPrintsOneAlignedRowWithUnits() throws Exception {
        SanCommands commands = new SanCommands();
        commands.addProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("service.id", 3L));
        String text = commands.bench("tcp", "1");
        List<String> lines = text.lines().toList();
        assertEquals(2, lines.size(), text);
        assertTrue(lines.get(0).startsWith("PROVIDER"), text);
        assertTrue(lines.get(1).matches("tcp\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s\\s+\\d+\\s+\\d+ µs\\s+\\d+ µs"),
                lines.get(1));
        assertEquals(lines.get(0).length(), lines.get(1).length(), "right-aligned last column ends where its header ends");
    }

    @Test
    void aProviderCleanedUpDuringTheBenchEndsItWithAClearMessageAndNoThreadLeft() throws Exception {
        ProviderEngine engine = new ProviderEngine(new NioTransport(1, true));
        SanCommands commands = new SanCommands();
        commands.addProvider(engine, Map.of("service.id", 9L));
        CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
            try {
                return commands.bench("tcp", "5");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.status().openSockets() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(200); // mid-stream
        engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING); // what a bundle stop does

        String text = bench.get(20, TimeUnit.SECONDS);
        assertTrue(text.startsWith("san:bench on tcp failed: ") && text.contains("cleaned up during the bench"), text);
        assertEquals("IDLE", engine.status().state());
        assertEquals(3, engine.cleanupHistory().get(0).socketsReset(), "listener, client and accepted socket");
        // Whether a transfer was in flight at that instant is timing: the aborted count is not judged.
        assertEquals(0, nioThreads(), "a NIO thread outlived the cleanup");
    }
}
