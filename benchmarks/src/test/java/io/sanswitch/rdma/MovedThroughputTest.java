package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Eventually;

/**
 * A measurement, not a test (docs/migration.md section 4, "ResumedStream"): what a moved connection
 * streams against a connection made over tcp, in one run, between the same two switches (each with
 * its own UCX and NIO provider, {@code migrate} on). The moved connection was made over ucx and moved
 * by the client's UCX provider being withdrawn; the other was made over tcp. Each round streams
 * {@code sanswitch.throughput.mib} MiB (default 1024) one way over each, in alternating order (and the
 * same for a connection moved back to ucx against one made over ucx), 256 KiB
 * direct sends with four pending against one pending 256 KiB receive (each chunk's first bytes its offset,
 * checked where a receive holds them whole), and prints MiB/s, the process's cpu
 * seconds per GiB (less disturbed by other jobs on a shared machine than the rate) and the ratios.
 * Nothing is asserted about the figures (a shared machine decides them); only that every byte
 * arrived. Opt-in: {@code -Dsanswitch.move.throughput=true}; rounds with
 * {@code -Dsanswitch.throughput.rounds} (default 6).
 */
@Timeout(600)
@EnabledIfSystemProperty(named = "sanswitch.move.throughput", matches = "true")
class MovedThroughputTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CHUNK = 256 * 1024;
    private static final int PENDING_SENDS = 4;
    private static final long TOTAL = Long.getLong("sanswitch.throughput.mib", 1024) << 20;
    private static final int ROUNDS = Integer.getInteger("sanswitch.throughput.rounds", 6);

    private final Side client = new Side();
    private final Side server = new Side();

    private static final class Side {
        Switch sw;
        ProviderEngine ucx;
        ProviderEngine tcp;

        void start() {
            sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(MigrationSettings.defaults().withMigrate(true)));
            ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
            tcp = new ProviderEngine(new NioTransport(1, true));
            sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
            sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        }

        void stop() {
            if (sw != null) {
                sw.deactivate();
            }
        }
    }

    private record Pair(SwitchSocket client, SwitchSocket server) {
    }

    @AfterEach
    void stop() {
        client.stop();
        server.stop();
    }

    @Test
    void aMovedConnectionStreamsAsAConnectionMadeOverTcp() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        client.start();
        server.start();
        SwitchServerSocket listener = server.sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        Pair moved = connect(listener, "ucx");
        // A round trip each way: both sides have the other's SESSION, the session can move.
        oneWay(moved.client(), moved.server(), 1 << 20);
        oneWay(moved.server(), moved.client(), 1 << 20);
        client.sw.unbindProvider(client.ucx);
        Eventually.until("both ends moved to tcp (client " + moved.client().provider() + ", server " + moved.server().provider() + ")",
                () -> "tcp".equals(moved.client().provider()) && "tcp".equals(moved.server().provider()));
        Pair tcp = connect(listener, "tcp");
        assertEquals("tcp", tcp.server().provider());

        compare("moved", moved, "made over tcp", tcp);
        for (Pair p : List.of(moved, tcp)) {
            p.client().close();
            p.server().close();
        }
        listener.close();
    }

    /**
     * docs/migration.md section 6: a connection moved to tcp and back to ucx (the client's UCX provider
     * withdrawn, then a new one bound) against a connection made over ucx, in one run. The moved-back
     * session runs its frames over a switch connection of its own over UCX: what that costs.
     */
    @Test
    void aConnectionMovedBackStreamsAsAConnectionMadeOverUcx() throws Exception {
        assumeTrue(Ucx.isAvailable(), () -> "UCX not available: " + Ucx.unavailabilityCause());
        client.start();
        server.start();
        SwitchServerSocket listener = server.sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        Pair back = connect(listener, "ucx");
        oneWay(back.client(), back.server(), 1 << 20);
        oneWay(back.server(), back.client(), 1 << 20);
        client.sw.unbindProvider(client.ucx);
        Eventually.until("both ends moved to tcp", () -> "tcp".equals(back.client().provider())
                && "tcp".equals(back.server().provider()));
        client.ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        client.sw.bindProvider(client.ucx, Map.of("sanswitch.transport", "ucx"));
        Eventually.until("both ends back on ucx", () -> "ucx".equals(back.client().provider())
                && "ucx".equals(back.server().provider()));
        Pair ucx = connect(listener, "ucx");
        compare("moved back", back, "made over ucx", ucx);
        for (Pair p : List.of(back, ucx)) {
            p.client().close();
            p.server().close();
        }
        listener.close();
    }

    /** Rounds of {@link #TOTAL} one way over each pair, alternating which goes first; prints the rates and ratios. */
    private static void compare(String name, Pair measured, String referenceName, Pair reference) throws Exception {
        oneWay(measured.client(), measured.server(), 256L << 20); // warm-up, both
        oneWay(reference.client(), reference.server(), 256L << 20);
        List<Double> ratios = new ArrayList<>();
        List<Double> cpuRatios = new ArrayList<>();
        for (int round = 1; round <= ROUNDS; round++) {
            Rate m;
            Rate t;
            if (round % 2 == 1) {
                m = oneWay(measured.client(), measured.server(), TOTAL);
                t = oneWay(reference.client(), reference.server(), TOTAL);
            } else {
                t = oneWay(reference.client(), reference.server(), TOTAL);
                m = oneWay(measured.client(), measured.server(), TOTAL);
            }
            ratios.add(m.mibPerSecond() / t.mibPerSecond());
            cpuRatios.add(m.cpuPerGib() / t.cpuPerGib());
            System.out.printf(Locale.ROOT, "[throughput] round %d: %s %.0f MiB/s (cpu %.2f s/GiB), %s %.0f MiB/s"
                    + " (cpu %.2f s/GiB), ratio %.2f; %s%n", round, name, m.mibPerSecond(), m.cpuPerGib(), referenceName,
                    t.mibPerSecond(), t.cpuPerGib(), m.mibPerSecond() / t.mibPerSecond(), loadAverage());
        }
        ratios.sort(null);
        cpuRatios.sort(null);
        System.out.printf(Locale.ROOT, "[throughput] %d rounds of %d MiB: ratio %s / %s from %.2f to %.2f, median %.2f;"
                + " cpu per byte median %.2f; %s%n", ROUNDS, TOTAL >> 20, name, referenceName, ratios.get(0),
                ratios.get(ratios.size() - 1), ratios.get(ratios.size() / 2), cpuRatios.get(cpuRatios.size() / 2), loadAverage());
    }

    private Pair connect(SwitchServerSocket listener, String provider) throws Exception {
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        SwitchSocket c = client.sw.connect(listener.localAddress(), provider);
        SwitchSocket s = accepted.get(20, TimeUnit.SECONDS);
        assertEquals(provider, c.provider());
        return new Pair(c, s);
    }

    /** MiB/s from the first send to the last byte read, and this process's cpu seconds per GiB meanwhile. */
    private record Rate(double mibPerSecond, double cpuPerGib) {
    }

    /** This process's cpu time so far, in nanoseconds (every thread: the application's, the switches', the providers'). */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Streams {@code total} bytes from {@code from} to {@code to}. */
    private static Rate oneWay(SwitchSocket from, SwitchSocket to, long total) throws Exception {
        CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
            ByteBuffer into = ByteBuffer.allocateDirect(CHUNK);
            long at = 0;
            while (at < total) {
                into.clear();
                int n = to.receive(into).toCompletableFuture().join();
                if (n < 0) {
                    throw new IllegalStateException("the stream ended at " + at + " of " + total);
                }
                // Each chunk begins with its offset: a chunk lost, repeated or out of order shows.
                long chunk = (at + CHUNK - 1) / CHUNK * CHUNK;
                if (chunk + Long.BYTES <= at + n && into.getLong((int) (chunk - at)) != chunk) {
                    throw new IllegalStateException("at " + chunk + ": " + into.getLong((int) (chunk - at)));
                }
                at += n;
            }
            return at;
        });
        long cpu = cpuNanos();
        long start = System.nanoTime();
        ArrayDeque<CompletableFuture<Integer>> pending = new ArrayDeque<>();
        ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
        for (int i = 0; i <= PENDING_SENDS; i++) {
            free.add(ByteBuffer.allocateDirect(CHUNK));
        }
        ArrayDeque<ByteBuffer> inFlight = new ArrayDeque<>();
        for (long at = 0; at < total; at += CHUNK) {
            ByteBuffer b = free.poll().clear();
            b.limit((int) Math.min(CHUNK, total - at));
            b.putLong(0, at);
            pending.add(from.send(b).toCompletableFuture());
            inFlight.add(b);
            if (pending.size() >= PENDING_SENDS) {
                pending.poll().get(60, TimeUnit.SECONDS);
                free.add(inFlight.poll());
            }
        }
        for (CompletableFuture<Integer> p : pending) {
            p.get(60, TimeUnit.SECONDS);
        }
        assertEquals(total, read.get(120, TimeUnit.SECONDS));
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (cpuNanos() - cpu) / 1e9;
        return new Rate(total / seconds / (1 << 20), cpuSeconds / ((double) total / (1L << 30)));
    }

    private static String loadAverage() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return String.format(Locale.ROOT, "load average %.1f on %d cpus", os.getSystemLoadAverage(), os.getAvailableProcessors());
    }
}
