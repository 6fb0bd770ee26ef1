package io.sanswitch.core.shell;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * {@code san:bench}: a loopback connection through the switch, pinned to one provider (a listener
 * and a connect that both name it, so neither the SAN subnets nor a fallback decide), then a one-way
 * stream of 1 MiB chunks, each checked on arrival, then 64-byte echoes for the round trip.
 *
 * <p>It never starts a provider itself: a provider upcalls only its most recent upcall table (docs/rules.md
 * Q11), so a second {@code startupEx} would take the switch's upcalls and break its connections.
 * Everything it opens is closed whatever happens.
 */
final class LoopbackBench {
    static final int CHUNK = 1 << 20;
    static final int ECHO = 64;
    /** Any single completion taking longer than this means the provider is stuck. */
    static final long WAIT_MILLIS = 10_000;

    /**
     * What one run measured; memory idle before the connection, with it open (before any traffic),
     * and idle again once it is closed.
     */
    record Result(String provider, long bytes, long streamNanos, int roundTrips, long medianRoundTripNanos,
            long p99RoundTripNanos, MemorySample idleBefore, MemorySample connectionOpen, MemorySample idleAfter) {
    }

    /** A bench that could not run to its end, with the step that failed. */
    static final class BenchException extends Exception {
        private static final long serialVersionUID = 1L;

        BenchException(String message) {
            super(message);
        }

        BenchException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final SocketSwitch sw;
    private final String name;
    private final BooleanSupplier providerGone;

    /**
     * @param providerGone tells, once an operation failed, whether the provider was withdrawn
     *     meanwhile (its bundle stopped or updated), to say so instead of only the code
     */
    LoopbackBench(SocketSwitch sw, String name, BooleanSupplier providerGone) {
        this.sw = sw;
        this.name = name;
        this.providerGone = providerGone;
    }

    Result run(Duration duration) throws BenchException, InterruptedException {
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("duration must be positive: " + duration);
        }
        MemorySample idleBefore = MemorySample.now();
        MemorySample connectionOpen;
        long[] stream;
        long[] rtts;
        SwitchServerSocket listener = null;
        SwitchSocket client = null;
        SwitchSocket server = null;
        try {
            listener = sw.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4, name);
            CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
            client = sw.connect(listener.localAddress(), name);
            server = await(accepted, "accept");
            if (!name.equals(client.provider()) || !name.equals(server.provider())) {
                throw new BenchException("the switch connected over " + client.provider() + "/" + server.provider()
                        + " instead of " + name);
            }
            connectionOpen = MemorySample.now();
            long streamNanos = duration.toNanos() * 3 / 4;
            stream = stream(client, server, streamNanos);
            rtts = echoes(client, server, duration.toNanos() - streamNanos);
        } catch (WsaException e) {
            throw failure("a call", e);
        } finally {
            // Abortive: the bench's bytes are measured, nothing is left to flush.
            if (client != null) {
                client.abort();
            }
            if (server != null) {
                server.abort();
            }
            if (listener != null) {
                listener.close();
            }
        }
        // What stays once the traffic is over: no GC is asked for, since none would be in production.
        MemorySample idleAfter = MemorySample.now();
        Arrays.sort(rtts);
        return new Result(name, stream[0], stream[1], rtts.length, rtts[rtts.length / 2],
                rtts[Math.min(rtts.length - 1, (int) Math.ceil(rtts.length * 0.99) - 1)], idleBefore, connectionOpen,
                idleAfter);
    }

    private BenchException failure(String what, WsaException e) {
        boolean gone = providerGone.getAsBoolean() || e.error() == WsaError.WSA_OPERATION_ABORTED
                || e.error() == WsaError.WSANOTINITIALISED;
        String hint = gone ? " (the " + name + " provider was cleaned up during the bench)" : "";
        return new BenchException(what + " on " + name + " failed: " + e.error() + hint, e);
    }

    /**
     * Streams 1 MiB chunks client → server for {@code nanos}, one in flight, each stamped with its
     * sequence number and compared byte for byte on arrival.
     *
     * @return bytes received and checked, and the nanoseconds it took
     */
    private long[] stream(SwitchSocket client, SwitchSocket server, long nanos)
            throws BenchException, InterruptedException {
        ByteBuffer out = ByteBuffer.allocateDirect(CHUNK);
        ByteBuffer in = ByteBuffer.allocateDirect(CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            out.put(i, (byte) (i * 31 + 7));
        }
        long bytes = 0;
        long start = System.nanoTime();
        long chunk = 0;
        do {
            out.putLong(0, chunk);
            in.clear();
            CompletableFuture<Void> received = receiveFully(server, in);
            int sent = await(client.send(out.duplicate().clear()), "send");
            await(received, "receive");
            if (sent != CHUNK) {
                throw new BenchException("a send of " + CHUNK + " bytes completed with " + sent);
            }
            if (in.clear().mismatch(out.duplicate().clear()) != -1) {
                throw new BenchException("chunk " + chunk + " arrived corrupted at byte " + in.mismatch(out));
            }
            bytes += CHUNK;
            chunk++;
        } while (System.nanoTime() - start < nanos);
        return new long[] {bytes, System.nanoTime() - start};
    }

    /** 64-byte echoes server-side for {@code nanos} (at least 100); the round trip of each. */
    private long[] echoes(SwitchSocket client, SwitchSocket server, long nanos)
            throws BenchException, InterruptedException {
        ByteBuffer ping = ByteBuffer.allocateDirect(ECHO);
        ByteBuffer pong = ByteBuffer.allocateDirect(ECHO);
        ByteBuffer relay = ByteBuffer.allocateDirect(ECHO);
        long[] rtts = new long[1024];
        int n = 0;
        long start = System.nanoTime();
        while (n < 100 || (System.nanoTime() - start < nanos && n < 100_000)) {
            for (int i = 0; i < ECHO; i++) {
                ping.put(i, (byte) (n + i));
            }
            pong.clear();
            relay.clear();
            long t0 = System.nanoTime();
            CompletableFuture<Void> back = receiveFully(client, pong);
            CompletableFuture<Integer> pingSent = client.send(ping.duplicate().clear()).toCompletableFuture();
            await(receiveFully(server, relay), "echo receive");
            CompletableFuture<Integer> replySent = server.send(relay.flip()).toCompletableFuture();
            await(back, "echo reply");
            long rtt = System.nanoTime() - t0;
            await(pingSent, "echo send");
            await(replySent, "echo reply send");
            if (pong.clear().mismatch(ping.duplicate().clear()) != -1) {
                throw new BenchException("echo " + n + " came back different at byte " + pong.mismatch(ping));
            }
            if (n == rtts.length) {
                rtts = Arrays.copyOf(rtts, n * 2);
            }
            rtts[n++] = rtt;
        }
        return Arrays.copyOf(rtts, n);
    }

    /** Receives until {@code into} is full; the end of the stream first is a failure. */
    private CompletableFuture<Void> receiveFully(SwitchSocket s, ByteBuffer into) {
        return s.receive(into).toCompletableFuture().thenCompose(got -> {
            if (got < 0) {
                return CompletableFuture.failedFuture(new BenchException("the " + name + " connection ended after "
                        + into.position() + " of " + into.limit() + " bytes"));
            }
            return into.hasRemaining() ? receiveFully(s, into) : CompletableFuture.completedFuture(null);
        });
    }

    /** Waits for one stage, bounded; its value, or why it failed. */
    private <T> T await(CompletionStage<T> stage, String what) throws BenchException, InterruptedException {
        try {
            return stage.toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new BenchException("no completion of a " + what + " on " + name + " within " + WAIT_MILLIS + " ms");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WsaException w) {
                throw failure(what, w);
            }
            if (cause instanceof BenchException b) {
                throw b;
            }
            throw new BenchException(what + " on " + name + " failed: " + cause, cause);
        }
    }
}
