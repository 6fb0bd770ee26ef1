package io.sanswitch.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.transport.TransportProperties;

/**
 * One side of a {@link SwitchBenchmark} measurement in its own JVM, at the application's level:
 * {@code switch} (a {@link Switch} with one provider engine bound, listen and connect pinned to
 * it, the {@link SwitchSocket} API as an application calls it), {@code switch+migrate} (the same
 * with {@code migrate} on, and a TCP provider bound beside it for the resume port, as a switch that
 * can move its connections runs: docs/migration.md) or {@code raw} (a blocking NIO
 * {@code SocketChannel}, the TCP reference). The provider level is {@link EnginePeer}'s.
 *
 * <pre>SwitchPeer server LAYER TRANSPORT PHASE SIZE SECONDS WARMUP DEPTH POLICY
 * SwitchPeer client LAYER TRANSPORT PHASE SIZE SECONDS WARMUP DEPTH POLICY PORT</pre>
 *
 * <p>PHASE {@code stream}: the client keeps DEPTH sends of SIZE bytes outstanding, the server
 * DEPTH receives into buffers of SIZE bytes and measures MiB/s. PHASE {@code pingpong}: SIZE
 * bytes there and back, the client measures and reports half the round trip in µs. The lines
 * are {@link EnginePeer}'s: {@code PORT}, {@code START}, {@code RESULT x bytes}, {@code STOPPED},
 * {@code DONE}, {@code ERROR}; input {@code stop} then {@code close}.
 */
public final class SwitchPeer {
    private final BufferedReader control = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final String phase;
    private final int size;
    private final long nanos;
    private final long warmupNanos;
    private final int depth;

    private SwitchPeer(String phase, int size, double seconds, double warmup, int depth) {
        if (size < 1 || depth < 1 || seconds <= 0 || warmup < 0) {
            throw new IllegalArgumentException("size, depth >= 1, seconds > 0, warmup >= 0");
        }
        this.phase = phase;
        this.size = size;
        this.nanos = (long) (seconds * 1e9);
        this.warmupNanos = (long) (warmup * 1e9);
        this.depth = depth;
    }

    public static void main(String[] args) {
        try {
            if (args.length < 9 || (!args[0].equals("server") && args.length < 10)) {
                throw new IllegalArgumentException("usage: server|client raw|switch|switch+migrate TRANSPORT PHASE SIZE S WARMUP DEPTH POLICY [PORT]");
            }
            SwitchPeer peer = new SwitchPeer(args[3], Integer.parseInt(args[4]), Double.parseDouble(args[5]),
                    Double.parseDouble(args[6]), Integer.parseInt(args[7]));
            boolean server = args[0].equals("server");
            int port = server ? 0 : Integer.parseInt(args[9]);
            switch (args[1]) {
                case "raw" -> peer.raw(server, port);
                case "switch" -> peer.overSwitch(server, args[2], args[8], port, false);
                case MIGRATING_LAYER -> peer.overSwitch(server, args[2], args[8], port, true);
                default -> throw new IllegalArgumentException("layer " + args[1] + ": raw, switch or " + MIGRATING_LAYER);
            }
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            EnginePeer.say("ERROR " + String.valueOf(t).replace('\n', ' '));
            t.printStackTrace();
            System.exit(1);
        }
    }

    // ------------------------------------------------------------------ raw NIO

    private void raw(boolean server, int port) throws Exception {
        SocketChannel channel;
        ServerSocketChannel listener = null;
        if (server) {
            listener = ServerSocketChannel.open().bind(new InetSocketAddress(TcpBenchmark.LOOPBACK, 0));
            EnginePeer.say("PORT " + ((InetSocketAddress) listener.getLocalAddress()).getPort());
            channel = listener.accept();
        } else {
            channel = SocketChannel.open(new InetSocketAddress(TcpBenchmark.LOOPBACK, port));
        }
        channel.socket().setTcpNoDelay(true);
        Thread worker;
        if (phase.equals("stream")) {
            AtomicLong received = new AtomicLong();
            worker = server ? new Thread(() -> TcpBenchmark.rawReceiveLoop(channel, size, received), "raw-receiver")
                    : new Thread(() -> TcpBenchmark.rawSendLoop(channel, size, stop), "raw-sender");
            worker.start();
            if (server) {
                EnginePeer.say(measureStream(received));
            }
        } else if (server) {
            worker = new Thread(() -> TcpBenchmark.rawEchoLoop(channel, size), "raw-echo");
            worker.start();
        } else {
            ByteBuffer b = ByteBuffer.allocateDirect(size);
            worker = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        TcpBenchmark.rawRoundTrip(channel, b);
                        rounds.incrementAndGet();
                    }
                } catch (IOException e) {
                    fail(e);
                }
            }, "raw-pinger");
            worker.start();
            EnginePeer.say(measurePingPong());
        }
        awaitLine("stop");
        stop.set(true);
        if (!server) {
            worker.join(10_000); // the last write or round trip completes; the server still reads
        }
        EnginePeer.say("STOPPED");
        awaitLine("close");
        channel.close();
        if (listener != null) {
            listener.close();
        }
        worker.join(10_000);
        done();
    }

    // ------------------------------------------------------------------ the switch

    /** The layer whose switch has {@code migrate} on (docs/migration.md, "Cost"). */
    static final String MIGRATING_LAYER = "switch+migrate";

    private final AtomicLong rounds = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();

    private void overSwitch(boolean server, String transport, String policy, int port, boolean migrate) throws Exception {
        ProviderEngine engine = new ProviderEngine(EnginePeer.transport(transport, policy), EngineConfig.defaults(transport));
        // No SAN subnets: the provider is chosen by pinning, as an application names it.
        // migrate said either way: it is on by default, and the switch layer is the one without it.
        SwitchSettings settings = SwitchSettings.withSubnets()
                .withMigration(MigrationSettings.defaults().withMigrate(migrate));
        Switch sw = new Switch(settings);
        sw.bindProvider(engine, Map.of(TransportProperties.TRANSPORT, transport));
        if (migrate && !transport.equals("tcp")) {
            // The provider a move goes to; it carries nothing here (listen and connect are pinned), and
            // opens the resume port the SESSION frame announces.
            sw.bindProvider(new ProviderEngine(EnginePeer.transport("tcp", policy), EngineConfig.defaults("tcp")),
                    Map.of(TransportProperties.TRANSPORT, "tcp"));
        }
        if (migrate && sw.resumePort() == 0) {
            throw new IllegalStateException("migrate is on, but the switch opened no resume port");
        }
        SwitchServerSocket listener = null;
        SwitchSocket socket;
        if (server) {
            listener = sw.listen(new InetSocketAddress(TcpBenchmark.LOOPBACK, 0), 4, transport);
            EnginePeer.say("PORT " + listener.localAddress().getPort());
            socket = listener.accept();
        } else {
            socket = sw.connect(new InetSocketAddress(TcpBenchmark.LOOPBACK, port), transport);
        }
        if (!socket.provider().equals(transport)) {
            throw new IllegalStateException("the connection went over " + socket.provider() + ", not " + transport);
        }
        if (phase.equals("stream")) {
            if (server) {
                AtomicLong received = new AtomicLong();
                for (int i = 0; i < depth; i++) {
                    receiveAgain(socket, EnginePeer.pageAligned(size), received);
                }
                EnginePeer.say(measureStream(received));
            } else {
                for (int i = 0; i < depth; i++) {
                    inFlight.incrementAndGet();
                    sendAgain(socket, EnginePeer.pageAligned(size));
                }
            }
        } else {
            // Driven from the stages' continuations, as EnginePeer's echo is from its completion
            // upcalls: the switch is compared with its provider in the same style of application.
            bounce(socket, EnginePeer.pageAligned(size), EnginePeer.pageAligned(size), !server);
            if (!server) {
                EnginePeer.say(measurePingPong());
            }
        }
        awaitLine("stop");
        if (migrate && !server) {
            awaitRetention(sw);
        }
        stop.set(true);
        if (!server) {
            if (phase.equals("pingpong") && !bounced.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the ping-pong did not stop 10 s after stop");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (inFlight.get() > 0 && System.nanoTime() - deadline < 0) {
                Thread.sleep(1);
            }
            if (inFlight.get() > 0) {
                throw new IllegalStateException(inFlight.get() + " sends still in flight 10 s after stop");
            }
        }
        EnginePeer.say("STOPPED");
        awaitLine("close");
        socket.close();
        if (listener != null) {
            listener.close();
        }
        sw.deactivate();
        done();
    }

    /**
     * After the measurement, while the client still sends: a positive sign that both switches
     * migrate, the client keeping what it sent until the server acknowledged it (docs/migration.md
     * section 5); a peer without migration would have had it dropped at its HELLO.
     */
    private static void awaitRetention(Switch sw) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (sw.retainedBytes() == 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("migrate is on, but the client kept nothing of what it sent for 5 s: "
                        + "the connection does not migrate");
            }
            Thread.yield();
        }
    }

    /** Sends the whole buffer, and again from the completion until stopped. */
    private void sendAgain(SwitchSocket socket, ByteBuffer buffer) {
        buffer.clear();
        socket.send(buffer).whenComplete((n, e) -> {
            if (e != null || stop.get()) {
                inFlight.decrementAndGet();
                if (e != null && !stop.get()) {
                    fail(e);
                }
                return;
            }
            sendAgain(socket, buffer);
        });
    }

    /** Receives into the buffer, counting, and again from the completion until stopped or the end. */
    private void receiveAgain(SwitchSocket socket, ByteBuffer buffer, AtomicLong received) {
        buffer.clear();
        socket.receive(buffer).whenComplete((n, e) -> {
            if (e != null) {
                if (!stop.get()) {
                    fail(e);
                }
                return;
            }
            if (n > 0) {
                received.addAndGet(n);
                if (!stop.get()) {
                    receiveAgain(socket, buffer, received);
                }
            }
        });
    }

    /** Counted down when the client's ping-pong stopped after a round (or failed). */
    private final CountDownLatch bounced = new CountDownLatch(1);

    /**
     * One side of the ping-pong, from the continuations only: the client sends SIZE bytes and
     * counts a round when they are back; the server sends back what it received. A buffer is used
     * again only once its send completed (the completion sets its position).
     */
    private void bounce(SwitchSocket socket, ByteBuffer out, ByteBuffer in, boolean client) {
        if (client) {
            // The receive is posted first, as EnginePeer's client does; the next round starts once
            // the reply is in and the send completed (its buffer is free again).
            AtomicInteger toGo = new AtomicInteger(2);
            Runnable oneDone = () -> {
                if (toGo.decrementAndGet() == 0) {
                    rounds.incrementAndGet();
                    if (stop.get()) {
                        bounced.countDown();
                    } else {
                        bounce(socket, out, in, true);
                    }
                }
            };
            receiveThen(socket, in.clear(), oneDone);
            sendThen(socket, out.clear(), oneDone);
        } else {
            // The switch reads ahead on its own, so waiting for the send before the next receive
            // costs no round trip; and the send's completion moves the buffer's position.
            receiveThen(socket, in.clear(), () -> {
                in.flip();
                sendThen(socket, in, () -> bounce(socket, out, in, false));
            });
        }
    }

    /** Sends; {@code then} runs once the switch took all the bytes. */
    private void sendThen(SwitchSocket socket, ByteBuffer b, Runnable then) {
        socket.send(b).whenComplete((n, e) -> {
            if (e != null) {
                ended(e);
            } else {
                then.run();
            }
        });
    }

    /** Fills {@code b} with as many receives as it takes, then runs {@code full}; the end of the stream ends quietly. */
    private void receiveThen(SwitchSocket socket, ByteBuffer b, Runnable full) {
        socket.receive(b).whenComplete((n, e) -> {
            if (e != null) {
                ended(e);
            } else if (n < 0) {
                bounced.countDown();
            } else if (b.hasRemaining()) {
                receiveThen(socket, b, full);
            } else {
                full.run();
            }
        });
    }

    private void ended(Throwable e) {
        if (!stop.get()) {
            fail(e);
        }
        bounced.countDown();
    }

    // ------------------------------------------------------------------ measuring

    private String measureStream(AtomicLong received) throws InterruptedException {
        JitWarmup.settle(warmupNanos);
        EnginePeer.say("START");
        long b0 = received.get();
        long t0 = System.nanoTime();
        sleep(nanos);
        awaitProgress(received, b0);
        long b1 = received.get();
        long t1 = System.nanoTime();
        check();
        return String.format(Locale.ROOT, "RESULT %.6g %d", (b1 - b0) / (1024.0 * 1024.0) / ((t1 - t0) / 1e9), b1 - b0);
    }

    private String measurePingPong() throws InterruptedException {
        JitWarmup.settle(warmupNanos);
        EnginePeer.say("START");
        long r0 = rounds.get();
        long t0 = System.nanoTime();
        sleep(nanos);
        awaitARoundTrip(r0);
        long r1 = rounds.get();
        long t1 = System.nanoTime();
        check();
        if (r1 == r0) {
            throw new IllegalStateException("no round trip of " + size + " bytes completed in " + (t1 - t0) / 1_000_000 + " ms");
        }
        return String.format(Locale.ROOT, "RESULT %.4f %d", (t1 - t0) / 1e3 / (r1 - r0) / 2, (r1 - r0) * 2L * size);
    }

    private void awaitARoundTrip(long r0) throws InterruptedException {
        awaitARoundTrip(rounds, r0);
    }

    /**
     * Waits (up to 60 s) until a round trip completed after {@code r0}: a large message's round
     * trip can take longer than the window, which then stretches to one whole round trip.
     */
    static void awaitARoundTrip(AtomicLong rounds, long r0) throws InterruptedException {
        awaitProgress(rounds, r0);
    }

    /**
     * Waits (up to 60 s) until {@code counter} moved past {@code from}: a window always holds at
     * least one unit of work (on a loaded machine a large message can take longer than the window).
     */
    static void awaitProgress(AtomicLong counter, long from) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (counter.get() == from && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
        }
    }

    private static void sleep(long nanos) throws InterruptedException {
        Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
    }

    private void fail(Throwable t) {
        failure.compareAndSet(null, t);
    }

    private void check() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("the transfer failed during the measurement: " + t, t);
        }
    }

    private void done() {
        check();
        EnginePeer.say("DONE");
    }

    /** Reads control lines until {@code expected} (or the end of input: the benchmark went away). */
    private void awaitLine(String expected) throws IOException {
        for (String line; (line = control.readLine()) != null;) {
            if (line.trim().equals(expected)) {
                return;
            }
        }
    }
}
