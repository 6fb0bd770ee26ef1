package io.sanswitch.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.benchmarks.TcpBenchmark.DrivingSwitch;
import io.sanswitch.benchmarks.TcpBenchmark.Echo;
import io.sanswitch.benchmarks.TcpBenchmark.Handler;
import io.sanswitch.benchmarks.TcpBenchmark.Latch;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.rdma.Ucx;
import io.sanswitch.rdma.UcxTransports;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.transport.Transport;

/**
 * One side of a {@link UcxBenchmark} or {@link SwitchBenchmark} provider-level measurement, in its
 * own JVM: a provider engine over the UCX transport (or, with the system property
 * {@code sanswitch.bench.transport=tcp}, the NIO transport) with one connection to the other side's JVM, driven like {@link TcpBenchmark}'s engine
 * side (every next operation posted from inside the completion upcall, on the backend's thread).
 * {@code UcxBenchmark} starts it with {@code UCX_ERROR_SIGNALS} empty and {@code UCX_TLS} as
 * measured; it is not meant to be started by hand.
 *
 * <pre>EnginePeer probe
 * EnginePeer server PHASE SECONDS WARMUP DEPTH POLICY
 * EnginePeer client PHASE SECONDS WARMUP DEPTH POLICY PORT</pre>
 *
 * <p>PHASE is {@code stream} (the client keeps DEPTH sends of 1 MiB posted, the server DEPTH
 * receives, and measures), {@code pingpong} (8 bytes there and back, the client measures and
 * reports half the round trip) or {@code rdma-write} (the server exposes 1 MiB with
 * {@code registerRdmaMemory} and sends its descriptor over the connection; the client keeps DEPTH
 * RDMA writes of 1 MiB posted into it and measures). The system property {@code sanswitch.bench.size}
 * sets the size of the stream's buffers and of the ping-pong's messages (defaults 1 MiB and 8 bytes).
 *
 * <p>Lines on standard output, read by {@code UcxBenchmark}: {@code PORT n} (server, listening),
 * {@code START} (the measuring side: its measurement window begins), {@code RESULT x bytes} (the
 * measuring side: MiB/s, or µs one way; and the bytes moved in the window, both ways), {@code STOPPED}, {@code DONE},
 * {@code ERROR text}. Lines on standard input: {@code stop} (post nothing more and let what is in
 * flight finish), then {@code close} (close the socket, final cleanup, exit); end of input counts
 * as both.
 */
public final class EnginePeer {
    static final int FRAME = 4096;

    private final ProviderEngine engine;
    private final DrivingSwitch upcalls = new DrivingSwitch();
    private final BufferedReader control = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    private final AtomicBoolean stop = new AtomicBoolean();
    /** Operations posted and not completed: stopping waits for them. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final long nanos;
    private final long warmupNanos;
    private final int depth;
    private final String transport = System.getProperty("sanswitch.bench.transport", "ucx");
    private SocketHandle listener;
    private SocketHandle socket;

    private EnginePeer(double seconds, double warmup, int depth, String policy) throws WsaException {
        this.nanos = (long) (seconds * 1e9);
        this.warmupNanos = (long) (warmup * 1e9);
        this.depth = depth;
        this.engine = new ProviderEngine(transport(transport, policy), EngineConfig.defaults(transport));
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
    }

    /** The transport named ({@code ucx} with the progress policy, or {@code tcp}), unopened. */
    static Transport transport(String name, String policy) {
        return switch (name) {
            case "ucx" -> UcxTransports.create(policy, "");
            case "tcp" -> new NioTransport(1, true);
            default -> throw new IllegalArgumentException("transport " + name + ": ucx or tcp");
        };
    }

    /** The stream's buffer size or the ping-pong's message size. */
    private static int size(int otherwise) {
        int size = Integer.getInteger("sanswitch.bench.size", otherwise);
        if (size < 1) {
            throw new IllegalArgumentException("sanswitch.bench.size " + size + " must be at least 1");
        }
        return size;
    }

    public static void main(String[] args) {
        try {
            switch (args[0]) {
                case "probe" -> {
                    say(Ucx.isAvailable() ? "UCX available" : "UCX unavailable: " + Ucx.unavailabilityCause());
                    say("ERROR_SIGNALS [" + System.getenv("UCX_ERROR_SIGNALS") + "]");
                }
                case "server", "client" -> {
                    if (!"tcp".equals(System.getProperty("sanswitch.bench.transport")) && !"".equals(System.getenv("UCX_ERROR_SIGNALS"))) {
                        throw new IllegalStateException("UCX_ERROR_SIGNALS must be set to an empty value");
                    }
                    EnginePeer peer = new EnginePeer(Double.parseDouble(args[2]), Double.parseDouble(args[3]), Integer.parseInt(args[4]),
                            args[5]);
                    if (args[0].equals("server")) {
                        peer.server(args[1]);
                    } else {
                        peer.client(args[1], Integer.parseInt(args[6]));
                    }
                }
                default -> throw new IllegalArgumentException(
                        "usage: probe | server PHASE S WARMUP DEPTH POLICY | client PHASE S WARMUP DEPTH POLICY PORT");
            }
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            say("ERROR " + String.valueOf(t).replace('\n', ' '));
            t.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * A direct buffer starting on a page, as buffers for RDMA usually are (and as ucx_perftest's
     * are): a copy between buffers at unrelated offsets within their pages can run at a fraction
     * of the speed (4 KiB aliasing), which made the figure swing from run to run.
     */
    static ByteBuffer pageAligned(int size) {
        // Whole pages plus one: the aligned slice then holds at least the pages the size needs.
        int pages = (size + 4095) / 4096 + 1;
        return ByteBuffer.allocateDirect(pages * 4096).alignedSlice(4096).limit(size).slice();
    }

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    // ------------------------------------------------------------------ the two sides

    private void server(String phase) throws Exception {
        InetSocketAddress at = TcpBenchmark.freeAddress();
        listener = engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        engine.bind(listener, at);
        engine.listen(listener, 4);
        Latch accept = new Latch();
        engine.eventSelect(listener, accept, NetworkEvents.FD_ACCEPT);
        say("PORT " + at.getPort());
        if (!accept.latch.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no connection within 60 s");
        }
        socket = engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0).socket();
        switch (phase) {
            case "stream" -> {
                AtomicLong received = new AtomicLong();
                int size = size(TcpBenchmark.CHUNK);
                for (int i = 0; i < depth; i++) {
                    MemoryHandle in = engine.registerMemory(socket, pageAligned(size), Winsock.MEM_WRITE);
                    WsaBuf[] bufs = {WsaBuf.of(in)};
                    engine.recv(socket, bufs, Overlapped.notifying((Handler) (ov, r) -> {
                        if (r.isSuccess() && r.bytesTransferred() > 0) {
                            received.addAndGet(r.bytesTransferred());
                            if (!stop.get()) {
                                engine.recv(socket, bufs, ov);
                            }
                        } else if (!stop.get()) {
                            throw new IllegalStateException("receive failed during the measurement: " + r);
                        }
                    }));
                }
                say(measure(received));
                finish();
            }
            case "pingpong" -> {
                int size = size(TcpBenchmark.PING);
                MemoryHandle buffer = engine.registerMemory(socket, pageAligned(size), Winsock.MEM_READWRITE);
                new Echo(engine, socket, buffer, size, null, stop, null).receive();
                finish();
            }
            case "rdma-write" -> {
                RdmaBufferDescriptor exposed = engine.registerRdmaMemory(socket, pageAligned(TcpBenchmark.CHUNK),
                        Winsock.MEM_WRITE);
                sendDescriptor(exposed);
                finish();
                engine.deregisterRdmaMemory(socket, exposed);
            }
            default -> throw new IllegalArgumentException("phase " + phase);
        }
        close();
    }

    private void client(String phase, int port) throws Exception {
        socket = engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        Latch connect = new Latch();
        engine.eventSelect(socket, connect, NetworkEvents.FD_CONNECT);
        if (engine.connect(socket, new InetSocketAddress(TcpBenchmark.LOOPBACK, port), null) == ConnectStatus.IN_PROGRESS) {
            if (!connect.latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no FD_CONNECT within 60 s");
            }
            NetworkEventRecord events = engine.enumNetworkEvents(socket, connect);
            WsaError error = events.errorFor(NetworkEvents.FD_CONNECT_BIT);
            if (error != null) {
                throw new WsaException(error, "connect to port " + port);
            }
        }
        switch (phase) {
            case "stream" -> {
                int size = size(TcpBenchmark.CHUNK);
                for (int i = 0; i < depth; i++) {
                    MemoryHandle out = engine.registerMemory(socket, pageAligned(size), Winsock.MEM_READ);
                    WsaBuf[] bufs = {WsaBuf.of(out)};
                    inFlight.incrementAndGet();
                    engine.send(socket, bufs, 0, Overlapped.notifying(reposting(r -> { }, ov -> engine.send(socket, bufs, 0, ov))));
                }
                finish();
            }
            case "pingpong" -> {
                AtomicLong rounds = new AtomicLong();
                CountDownLatch stopped = new CountDownLatch(1);
                int size = size(TcpBenchmark.PING);
                MemoryHandle buffer = engine.registerMemory(socket, pageAligned(size), Winsock.MEM_READWRITE);
                Echo echo = new Echo(engine, socket, buffer, size, rounds, stop, stopped);
                echo.receive();
                echo.send();
                JitWarmup.settle(warmupNanos);
                say("START");
                long r0 = rounds.get();
                long t0 = System.nanoTime();
                Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
                SwitchPeer.awaitARoundTrip(rounds, r0);
                long r1 = rounds.get();
                long t1 = System.nanoTime();
                if (r1 == r0) {
                    throw new IllegalStateException("no round trip completed in " + (t1 - t0) / 1_000_000 + " ms");
                }
                say(String.format(Locale.ROOT, "RESULT %.4f %d", (t1 - t0) / 1e3 / (r1 - r0) / 2, (r1 - r0) * 2L * size));
                awaitLine("stop");
                stop.set(true);
                if (!stopped.await(5, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the ping-pong did not stop");
                }
                say("STOPPED");
                awaitLine("close");
            }
            case "rdma-write" -> {
                RdmaBufferDescriptor target = receiveDescriptor();
                AtomicLong written = new AtomicLong();
                for (int i = 0; i < depth; i++) {
                    MemoryHandle source = engine.registerMemory(socket, pageAligned(TcpBenchmark.CHUNK), Winsock.MEM_READ);
                    WsaBuf[] bufs = {WsaBuf.of(source)};
                    inFlight.incrementAndGet();
                    engine.rdmaWrite(socket, bufs, target, 0, 0, Overlapped.notifying(reposting(
                            r -> written.addAndGet(r.bytesTransferred()), ov -> engine.rdmaWrite(socket, bufs, target, 0, 0, ov))));
                }
                say(measure(written));
                finish();
            }
            default -> throw new IllegalArgumentException("phase " + phase);
        }
        close();
    }

    @FunctionalInterface
    private interface Repost {
        void post(Overlapped ov) throws WsaException;
    }

    @FunctionalInterface
    private interface Count {
        void completed(OverlappedResult r);
    }

    /** A completion handler that counts, posts the same operation again until stopped, and fails loudly otherwise. */
    private Handler reposting(Count count, Repost again) {
        return (ov, r) -> {
            if (!r.isSuccess()) {
                inFlight.decrementAndGet();
                if (!stop.get()) {
                    throw new IllegalStateException("transfer failed during the measurement: " + r);
                }
                return;
            }
            count.completed(r);
            if (stop.get()) {
                inFlight.decrementAndGet();
                return;
            }
            again.post(ov);
        };
    }

    /**
     * The RESULT line: MiB/s over the measurement window, after the warm-up (which lets the JIT
     * finish with the hot path), and the bytes moved in it.
     */
    private String measure(AtomicLong bytes) throws InterruptedException {
        JitWarmup.settle(warmupNanos);
        say("START");
        long b0 = bytes.get();
        long t0 = System.nanoTime();
        Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        SwitchPeer.awaitProgress(bytes, b0);
        long b1 = bytes.get();
        long t1 = System.nanoTime();
        return String.format(Locale.ROOT, "RESULT %.6g %d", (b1 - b0) / (1024.0 * 1024.0) / ((t1 - t0) / 1e9), b1 - b0);
    }

    // ------------------------------------------------------------------ the descriptor over the connection

    /** One fixed-size frame (length, then the descriptor's bytes): the same on a byte stream and with messages. */
    private void sendDescriptor(RdmaBufferDescriptor descriptor) throws Exception {
        byte[] bytes = descriptor.toBytes();
        if (bytes.length > FRAME - 4) {
            throw new IllegalStateException("descriptor of " + bytes.length + " bytes does not fit a frame of " + FRAME);
        }
        ByteBuffer frame = ByteBuffer.allocateDirect(FRAME);
        frame.putInt(bytes.length).put(bytes).clear();
        MemoryHandle handle = engine.registerMemory(socket, frame, Winsock.MEM_READ);
        Overlapped ov = Overlapped.polling(null);
        engine.send(socket, new WsaBuf[] {WsaBuf.of(handle)}, 0, ov);
        OverlappedResult r = ov.awaitResult(30, TimeUnit.SECONDS);
        if (r == null || !r.isSuccess() || r.bytesTransferred() != FRAME) {
            throw new IllegalStateException("sending the descriptor: " + r);
        }
        engine.deregisterMemory(socket, handle);
    }

    private RdmaBufferDescriptor receiveDescriptor() throws Exception {
        ByteBuffer frame = ByteBuffer.allocateDirect(FRAME);
        MemoryHandle handle = engine.registerMemory(socket, frame, Winsock.MEM_WRITE);
        int got = 0;
        while (got < FRAME) {
            Overlapped ov = Overlapped.polling(null);
            engine.recv(socket, new WsaBuf[] {new WsaBuf(handle, got, FRAME - got)}, ov);
            OverlappedResult r = ov.awaitResult(30, TimeUnit.SECONDS);
            if (r == null || !r.isSuccess() || r.bytesTransferred() == 0) {
                throw new IllegalStateException("receiving the descriptor: " + r);
            }
            got += (int) r.bytesTransferred();
        }
        engine.deregisterMemory(socket, handle);
        int length = frame.getInt(0);
        if (length < 1 || length > FRAME - 4) {
            throw new IllegalStateException("bad descriptor frame: length " + length);
        }
        byte[] bytes = new byte[length];
        frame.get(4, bytes);
        return RdmaBufferDescriptor.of(bytes);
    }

    // ------------------------------------------------------------------ ending

    /** On {@code stop}: post nothing more, let what is in flight complete; then wait for {@code close}. */
    private void finish() throws Exception {
        awaitLine("stop");
        stop.set(true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (inFlight.get() > 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(inFlight.get() + " operations still in flight 10 s after stop");
            }
            Thread.sleep(1);
        }
        say("STOPPED");
        awaitLine("close");
    }

    private void close() throws Exception {
        stop.set(true);
        engine.closeSocket(socket);
        if (listener != null) {
            engine.closeSocket(listener);
        }
        engine.cleanup();
        Throwable failure = upcalls.failure.get();
        if (failure != null) {
            throw new IllegalStateException("a completion handler failed: " + failure, failure);
        }
        say("DONE");
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
