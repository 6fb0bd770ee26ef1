package io.sanswitch.demo;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One echo client on the switch, as an application writes it: {@code connect} (the switch picks the
 * provider), then 256 KiB chunks sent and read back, every byte checked, on that one connection
 * until it is stopped. When the switch moves its connection to another provider (migrate on,
 * docs/migration.md), to tcp and back to ucx (docs/rules.md SW-migrate-back), it notices nothing but
 * a longer echo, which it keeps as its longest stall. It never reconnects: should the connection
 * break, it says what failed and ends. A warm-up client is pinned to one provider instead
 * ({@code connect(remote, provider)}).
 */
final class Client implements Runnable {
    static final int CHUNK = 256 * 1024;

    final String name;
    private final String pinned;
    private final SocketSwitch sw;
    private final InetSocketAddress server;
    private final Stats stats;
    private final Console console;
    final AtomicBoolean running = new AtomicBoolean(true);
    /** Connections made: 1 once connected; more would be a reconnect, which it never makes. */
    final AtomicInteger connects = new AtomicInteger();
    /** Its connection's provider history ({@link SwitchSocket#history()}) when it closed, or null. */
    volatile List<ProviderChoice> history;
    /** The codes its operations failed with when its connection broke. */
    final List<WsaError> errors = new CopyOnWriteArrayList<>();
    volatile String failure;
    volatile String provider = "-";
    /** Chunks echoed over its connection: the first one shows it carries data. */
    private volatile long echoedOnConnection;
    /** The longest echo of a chunk since {@link #markStall()}, in nanoseconds: a move shows here. */
    private volatile long longestEchoNanos;
    private volatile SwitchSocket current;
    private final ByteBuffer out = ByteBuffer.allocateDirect(CHUNK);
    private final ByteBuffer back = ByteBuffer.allocateDirect(CHUNK);

    /**
     * @param name how its lines name it ("client 1")
     * @param pinned the provider every connect names, or {@code null}: the switch picks
     */
    Client(String name, String pinned, SocketSwitch sw, InetSocketAddress server, Stats stats, Console console) {
        this.name = name;
        this.pinned = pinned;
        this.sw = sw;
        this.server = server;
        this.stats = stats;
        this.console = console;
    }

    @Override
    public void run() {
        SwitchSocket s = null;
        long round = 0;
        try {
            s = connect();
            console.line(String.format("  %s: connected over %s (%s)", name, s.provider(), reason(s.choice())));
            while (running.get()) {
                long start = System.nanoTime();
                long n = echo(s, round++);
                longestEchoNanos = Math.max(longestEchoNanos, System.nanoTime() - start);
                provider = s.provider(); // a moved connection carries on over another provider
                stats.add(provider, n);
                echoedOnConnection++;
            }
        } catch (Broken e) {
            failure = String.format("%s: connection over %s broke: %s", name, s.provider(), e.getMessage());
            console.line("  " + failure);
        } catch (WsaException e) {
            failure = name + ": connect failed: " + e.getMessage();
            console.line("  " + failure);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = name + ": " + e.getMessage();
            console.line("  " + failure);
        } finally {
            if (s != null) {
                history = s.history();
                if (failure == null) {
                    s.close();
                } else {
                    s.abort();
                }
            }
        }
    }

    /** Starts measuring the longest stall anew. */
    void markStall() {
        longestEchoNanos = 0;
    }

    long longestStallMillis() {
        return longestEchoNanos / 1_000_000;
    }

    /** The connection it echoes over now, or null. */
    SwitchSocket current() {
        return current;
    }

    private SwitchSocket connect() throws WsaException {
        SwitchSocket s = pinned == null ? sw.connect(server) : sw.connect(server, pinned);
        connects.incrementAndGet();
        current = s;
        provider = s.provider();
        return s;
    }

    long echoedOnConnection() {
        return echoedOnConnection;
    }

    /** On {@code p}, and its connection has echoed at least one chunk. */
    boolean echoingOver(String p) {
        return p.equals(provider) && echoedOnConnection > 0;
    }

    static String reason(ProviderChoice c) {
        if (c.move() != null) {
            return c.reason() + " (" + c.move().cause() + ", paused " + c.move().pause().toMillis() + " ms)";
        }
        return c.reason() + (c.rdmaError() != null ? " after " + c.rdmaError().name() : "");
    }

    /** Why a connection stopped working: its operations' failures. */
    static final class Broken extends Exception {
        private static final long serialVersionUID = 1L;

        Broken(String message) {
            super(message);
        }
    }

    /**
     * One chunk through the echo: the receive is posted before the send, so one is pending whenever
     * the provider stops.
     *
     * @throws Broken an operation failed (aborted, reset): what each one said
     * @throws IllegalStateException the data came back different: a real bug, never a fallback
     */
    private long echo(SwitchSocket s, long round) throws Broken, InterruptedException {
        for (int i = 0; i < CHUNK; i += 8) {
            out.putLong(i, round * 0x9E3779B97F4A7C15L + i);
        }
        back.clear();
        CompletableFuture<Void> received = receiveFully(s, back);
        CompletableFuture<Integer> sent = s.send(out.duplicate().clear()).toCompletableFuture();
        String sendOutcome = outcome(sent);
        String receiveOutcome = outcome(received);
        if (sendOutcome != null || receiveOutcome != null) {
            throw new Broken("send " + (sendOutcome == null ? "done" : sendOutcome) + ", receive "
                    + (receiveOutcome == null ? "done" : receiveOutcome));
        }
        int at = back.clear().mismatch(out.duplicate().clear());
        if (at != -1) {
            throw new IllegalStateException("echo over " + s.provider() + " came back different at byte " + at);
        }
        return CHUNK;
    }

    /** {@code null} when {@code f} succeeded, else the code it failed with (recorded). */
    private String outcome(CompletableFuture<?> f) throws InterruptedException {
        try {
            f.get(Demo.WAIT_MILLIS, TimeUnit.MILLISECONDS);
            return null;
        } catch (TimeoutException e) {
            errors.add(WsaError.WSAETIMEDOUT);
            return "did not complete in " + Demo.WAIT_MILLIS + " ms";
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WsaException w) {
                errors.add(w.error());
                return w.error().name();
            }
            throw new IllegalStateException("unexpected failure", e.getCause());
        }
    }

    private static CompletableFuture<Void> receiveFully(SwitchSocket s, ByteBuffer into) {
        return s.receive(into).toCompletableFuture().thenCompose(n -> {
            if (n < 0) {
                return CompletableFuture.failedFuture(new WsaException(WsaError.WSAECONNRESET, "end of stream"));
            }
            return into.hasRemaining() ? receiveFully(s, into) : CompletableFuture.completedFuture(null);
        });
    }
}
