package io.sanswitch.benchmarks;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.sanswitch.conformance.Ports;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;

/**
 * Loopback benchmark of the TCP fallback: 1 MiB streaming throughput and 8-byte ping-pong round
 * trip through the provider engine and the NIO transport, against a raw blocking
 * {@code SocketChannel} pair, in the same run. Rounds alternate raw and engine; medians are
 * reported with their ratios and the targets (throughput at least 95 % of raw, round trip at most
 * 1.1 times raw).
 *
 * <p>The engine side is driven the way a switch drives a provider: completions arrive as upcalls
 * on the backend's threads and the next operation is posted from inside the upcall.
 *
 * <p>The engine keeps {@code sanswitch.bench.depth} (system property, default 2) sends and
 * receives of 1 MiB posted per side; the raw pair reuses one 1 MiB buffer per side.
 *
 * <pre>mvn -B -q -pl benchmarks -am install -DskipTests
 * mvn -B -q -pl benchmarks exec:java -Dexec.args="--seconds 3 --rounds 5"</pre>
 */
public final class TcpBenchmark {
    static final int CHUNK = 1 << 20;
    static final int PING = 8;
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** How long and how often to measure. */
    public record Options(double seconds, int rounds) {
        static Options parse(String[] args) {
            double seconds = 3;
            int rounds = 5;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                    case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                    case "--smoke" -> {
                        seconds = 0.3;
                        rounds = 1;
                    }
                    default -> throw new IllegalArgumentException("usage: [--seconds S] [--rounds N] [--smoke]; got " + args[i]);
                }
            }
            if (seconds <= 0 || rounds < 1) {
                throw new IllegalArgumentException("seconds > 0 and rounds >= 1");
            }
            return new Options(seconds, rounds);
        }
    }

    /** Medians over the rounds. */
    public record Result(double rawMiBps, double engineMiBps, double rawRttMicros, double engineRttMicros) {
        public double throughputRatio() {
            return engineMiBps / rawMiBps;
        }

        public double rttRatio() {
            return engineRttMicros / rawRttMicros;
        }
    }

    private TcpBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        System.out.printf(Locale.ROOT, "TCP fallback benchmark over loopback: %d rounds of %.1f s per measurement, %d cores%n",
                options.rounds(), options.seconds(), Runtime.getRuntime().availableProcessors());
        Result r = run(options);
        System.out.printf(Locale.ROOT, "%-34s %12s %12s %8s %s%n", "measurement", "raw", "engine+nio", "ratio", "target");
        System.out.printf(Locale.ROOT, "%-34s %12.1f %12.1f %8.3f %s%n", "1 MiB streaming throughput (MiB/s)",
                r.rawMiBps(), r.engineMiBps(), r.throughputRatio(), r.throughputRatio() >= 0.95 ? ">= 0.95 met" : ">= 0.95 MISSED");
        System.out.printf(Locale.ROOT, "%-34s %12.2f %12.2f %8.3f %s%n", "8-byte ping-pong round trip (µs)",
                r.rawRttMicros(), r.engineRttMicros(), r.rttRatio(), r.rttRatio() <= 1.1 ? "<= 1.10 met" : "<= 1.10 MISSED");
    }

    public static Result run(Options options) throws Exception {
        long nanos = (long) (options.seconds() * 1e9);
        double[] rawT = new double[options.rounds()];
        double[] engT = new double[options.rounds()];
        double[] rawL = new double[options.rounds()];
        double[] engL = new double[options.rounds()];
        for (int i = 0; i < options.rounds(); i++) {
            // Alternate which goes first so drift in the machine does not favour one side.
            if (i % 2 == 0) {
                rawT[i] = rawThroughput(nanos);
                engT[i] = engineThroughput(nanos);
                rawL[i] = rawPingPong(nanos);
                engL[i] = enginePingPong(nanos);
            } else {
                engT[i] = engineThroughput(nanos);
                rawT[i] = rawThroughput(nanos);
                engL[i] = enginePingPong(nanos);
                rawL[i] = rawPingPong(nanos);
            }
            System.out.printf(Locale.ROOT, "round %d: throughput raw %.1f / engine %.1f MiB/s; round trip raw %.2f / engine %.2f µs%n",
                    i + 1, rawT[i], engT[i], rawL[i], engL[i]);
        }
        return new Result(median(rawT), median(engT), median(rawL), median(engL));
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    // ------------------------------------------------------------------ raw blocking SocketChannel

    private record RawPair(ServerSocketChannel server, SocketChannel client, SocketChannel accepted) implements AutoCloseable {
        static RawPair open() throws IOException {
            ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(LOOPBACK, 0));
            SocketChannel client = SocketChannel.open(server.getLocalAddress());
            SocketChannel accepted = server.accept();
            client.socket().setTcpNoDelay(true);
            accepted.socket().setTcpNoDelay(true);
            return new RawPair(server, client, accepted);
        }

        @Override
        public void close() throws IOException {
            client.close();
            accepted.close();
            server.close();
        }
    }

    static double rawThroughput(long nanos) throws Exception {
        try (RawPair p = RawPair.open()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong received = new AtomicLong();
            Thread sender = new Thread(() -> rawSendLoop(p.client(), CHUNK, stop), "raw-sender");
            Thread receiver = new Thread(() -> rawReceiveLoop(p.accepted(), CHUNK, received), "raw-receiver");
            sender.start();
            receiver.start();
            double mibps = measure(received, nanos);
            stop.set(true);
            p.close();
            sender.join(5_000);
            receiver.join(5_000);
            return mibps;
        }
    }

    static double rawPingPong(long nanos) throws Exception {
        try (RawPair p = RawPair.open()) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread echo = new Thread(() -> rawEchoLoop(p.accepted(), PING), "raw-echo");
            echo.start();
            ByteBuffer b = ByteBuffer.allocateDirect(PING);
            long rounds = 0;
            long warmEnd = System.nanoTime() + nanos / 5;
            long start = 0;
            long end = warmEnd + nanos;
            while (true) {
                long now = System.nanoTime();
                if (start == 0 && now >= warmEnd) {
                    start = now;
                    rounds = 0;
                }
                if (now >= end) {
                    break;
                }
                rawRoundTrip(p.client(), b);
                rounds++;
            }
            double micros = (System.nanoTime() - start) / 1e3 / rounds;
            stop.set(true);
            p.close();
            echo.join(5_000);
            return micros;
        }
    }

    // ------------------------------------------------------------------ through the engine

    /** A switch whose completion upcalls run the handler carried as the overlapped's context. */
    static final class DrivingSwitch implements UpcallTable {
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        @Override
        public long createSocketHandle(SocketHandle providerSocket) {
            return 1;
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped ov, OverlappedResult result) {
            try {
                ((Handler) ov.context()).completed(ov, result);
            } catch (WsaException e) {
                // A repost racing the final cleanup at the end of a measurement is refused
                // (docs/rules.md LC-race): that is the provider going away, not a failure.
                if (e.error() != WsaError.WSANOTINITIALISED && e.error() != WsaError.WSAENOTSOCK) {
                    failure.compareAndSet(null, e);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }

        @Override
        public void setEvent(EventHandle event) {
            if (event instanceof Latch l) {
                l.latch.countDown();
            }
        }

        @Override
        public void resetEvent(EventHandle event) {
        }
    }

    @FunctionalInterface
    interface Handler {
        void completed(Overlapped ov, OverlappedResult result) throws WsaException;
    }

    static final class Latch implements EventHandle {
        final CountDownLatch latch = new CountDownLatch(1);
    }

    /** Two engines over two NIO transports with one connection between them. */
    static final class EnginePair implements AutoCloseable {
        final DrivingSwitch upcalls = new DrivingSwitch();
        final ProviderEngine a = new ProviderEngine(new NioTransport(1, true), EngineConfig.defaults("tcp"));
        final ProviderEngine b = new ProviderEngine(new NioTransport(1, true), EngineConfig.defaults("tcp"));
        final SocketHandle client;
        final SocketHandle server;

        EnginePair() throws Exception {
            a.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
            b.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
            InetSocketAddress at = freeAddress();
            SocketHandle listener = b.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
            b.bind(listener, at);
            b.listen(listener, 4);
            Latch accept = new Latch();
            b.eventSelect(listener, accept, NetworkEvents.FD_ACCEPT);
            client = a.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
            Latch connect = new Latch();
            a.eventSelect(client, connect, NetworkEvents.FD_CONNECT);
            a.connect(client, at, null);
            if (!accept.latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no FD_ACCEPT");
            }
            server = b.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0).socket();
            if (!connect.latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no FD_CONNECT");
            }
        }

        @Override
        public void close() throws WsaException {
            a.cleanup();
            b.cleanup();
            if (upcalls.failure.get() != null) {
                throw new IllegalStateException("a completion handler failed", upcalls.failure.get());
            }
        }
    }

    static double engineThroughput(long nanos) throws Exception {
        try (EnginePair p = new EnginePair()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong received = new AtomicLong();
            int depth = Integer.getInteger("sanswitch.bench.depth", 2);
            for (int i = 0; i < depth; i++) {
                MemoryHandle out = p.a.registerMemory(p.client, ByteBuffer.allocateDirect(CHUNK), Winsock.MEM_READ);
                WsaBuf[] sendBufs = {WsaBuf.of(out)};
                Handler resend = new Handler() {
                    @Override
                    public void completed(Overlapped ov, OverlappedResult r) throws WsaException {
                        if (r.isSuccess() && !stop.get()) {
                            p.a.send(p.client, sendBufs, 0, ov);
                        }
                    }
                };
                p.a.send(p.client, sendBufs, 0, Overlapped.notifying(resend));

                MemoryHandle in = p.b.registerMemory(p.server, ByteBuffer.allocateDirect(CHUNK), Winsock.MEM_WRITE);
                WsaBuf[] recvBufs = {WsaBuf.of(in)};
                Handler rerecv = new Handler() {
                    @Override
                    public void completed(Overlapped ov, OverlappedResult r) throws WsaException {
                        if (r.isSuccess() && r.bytesTransferred() > 0) {
                            received.addAndGet(r.bytesTransferred());
                            if (!stop.get()) {
                                p.b.recv(p.server, recvBufs, ov);
                            }
                        }
                    }
                };
                p.b.recv(p.server, recvBufs, Overlapped.notifying(rerecv));
            }
            double mibps = measure(received, nanos);
            stop.set(true);
            return mibps;
        }
    }

    static double enginePingPong(long nanos) throws Exception {
        try (EnginePair p = new EnginePair()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong rounds = new AtomicLong();
            CountDownLatch stopped = new CountDownLatch(1);
            // Server: receive 8 bytes, send them back.
            MemoryHandle sIn = p.b.registerMemory(p.server, ByteBuffer.allocateDirect(PING), Winsock.MEM_READWRITE);
            Echo serverSide = new Echo(p.b, p.server, sIn, null, stop, null);
            // Client: send 8 bytes, receive the echo, count, send again.
            MemoryHandle cBuf = p.a.registerMemory(p.client, ByteBuffer.allocateDirect(PING), Winsock.MEM_READWRITE);
            Echo clientSide = new Echo(p.a, p.client, cBuf, rounds, stop, stopped);
            serverSide.receive();
            clientSide.receive();
            clientSide.send();
            Thread.sleep(nanos / 5_000_000); // warm-up
            long r0 = rounds.get();
            long t0 = System.nanoTime();
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
            long r1 = rounds.get();
            long t1 = System.nanoTime();
            stop.set(true);
            stopped.await(5, TimeUnit.SECONDS);
            return (t1 - t0) / 1e3 / (r1 - r0);
        }
    }

    /**
     * One side of the ping-pong: receives {@link #PING} bytes (or the size given) (reposting for the rest after a
     * partial receive), then sends them back — all from inside the completion upcalls.
     */
    static final class Echo {
        final ProviderEngine engine;
        final SocketHandle socket;
        final MemoryHandle buffer;
        final AtomicLong rounds;
        final AtomicBoolean stop;
        final CountDownLatch stopped;
        final Overlapped recvOv;
        Overlapped sendOv;
        final WsaBuf[] whole;
        final int size;
        int got;

        Echo(ProviderEngine engine, SocketHandle socket, MemoryHandle buffer, AtomicLong rounds, AtomicBoolean stop,
                CountDownLatch stopped) {
            this(engine, socket, buffer, PING, rounds, stop, stopped);
        }

        /** A ping-pong of {@code size} bytes each way ({@code buffer} holds at least that many). */
        Echo(ProviderEngine engine, SocketHandle socket, MemoryHandle buffer, int size, AtomicLong rounds, AtomicBoolean stop,
                CountDownLatch stopped) {
            this.size = size;
            this.engine = engine;
            this.socket = socket;
            this.buffer = buffer;
            this.rounds = rounds;
            this.stop = stop;
            this.stopped = stopped;
            this.whole = new WsaBuf[] {new WsaBuf(buffer, 0, size)};
            this.recvOv = Overlapped.notifying((Handler) this::received);
            this.sendOv = Overlapped.notifying((Handler) (ov, r) -> { });
        }

        void receive() throws WsaException {
            engine.recv(socket, new WsaBuf[] {new WsaBuf(buffer, got, size - got)}, recvOv);
        }

        void send() throws WsaException {
            if (sendOv.isInProgress()) {
                // Its completion report has not come back from the loop yet: use another.
                sendOv = Overlapped.notifying((Handler) (ov, r) -> { });
            }
            engine.send(socket, whole, 0, sendOv);
        }

        private void received(Overlapped ov, OverlappedResult r) throws WsaException {
            if (!r.isSuccess() || r.bytesTransferred() == 0) {
                return;
            }
            got += (int) r.bytesTransferred();
            if (got < size) {
                receive();
                return;
            }
            got = 0;
            if (rounds != null) {
                rounds.incrementAndGet();
                if (stop.get()) {
                    stopped.countDown();
                    return;
                }
            }
            // Reply first: the write is the critical path, the receive can be posted after it.
            send();
            receive();
        }
    }

    // ------------------------------------------------------------------ raw loops (also SwitchPeer's)

    /** Writes {@code size} bytes at a time until {@code stop}; ends quietly when the channel closes. */
    static void rawSendLoop(SocketChannel channel, int size, AtomicBoolean stop) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        try {
            while (!stop.get()) {
                b.clear();
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            }
        } catch (IOException e) {
            // closed at the end
        }
    }

    /** Reads into a buffer of {@code size} bytes, counting, until the end of the stream or the channel closes. */
    static void rawReceiveLoop(SocketChannel channel, int size, AtomicLong received) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        try {
            while (true) {
                b.clear();
                int n = channel.read(b);
                if (n < 0) {
                    return;
                }
                received.addAndGet(n);
            }
        } catch (IOException e) {
            // closed at the end
        }
    }

    /** Receives {@code size} bytes and sends them back, until the end of the stream or the channel closes. */
    static void rawEchoLoop(SocketChannel channel, int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        try {
            while (true) {
                b.clear();
                while (b.hasRemaining()) {
                    if (channel.read(b) < 0) {
                        return;
                    }
                }
                b.flip();
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            }
        } catch (IOException e) {
            // closed at the end
        }
    }

    /** One round trip of {@code b}'s capacity: sends all of it, then reads the echo into it. */
    static void rawRoundTrip(SocketChannel channel, ByteBuffer b) throws IOException {
        b.clear();
        while (b.hasRemaining()) {
            channel.write(b);
        }
        b.clear();
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("end of stream in the middle of a round trip");
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static double measure(AtomicLong bytes, long nanos) throws InterruptedException {
        Thread.sleep(Math.max(1, nanos / 5_000_000)); // warm-up: a fifth of the measurement
        long b0 = bytes.get();
        long t0 = System.nanoTime();
        Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        long b1 = bytes.get();
        long t1 = System.nanoTime();
        return (b1 - b0) / (1024.0 * 1024.0) / ((t1 - t0) / 1e9);
    }

    /** A loopback port to bind later, maybe in another process: below the ephemeral range ({@link Ports}). */
    static InetSocketAddress freeAddress() throws IOException {
        return Ports.freeAddress(LOOPBACK);
    }
}
