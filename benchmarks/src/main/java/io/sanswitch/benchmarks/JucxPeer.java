package io.sanswitch.benchmarks;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpConstants;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpEndpoint;
import org.openucx.jucx.ucp.UcpEndpointParams;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpRequest;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;

/**
 * Diagnostic peer of {@link UcxBenchmark} ({@code --diagnostics}): the same measurements as
 * {@link EnginePeer} straight on JUCX, without the engine and the UCX transport, the way
 * {@code ucx_perftest} does them: one thread that posts and busy-polls the worker, endpoints made
 * from worker addresses swapped over a plain TCP socket. The difference to {@code ucx_perftest} is
 * then the JVM and JNI; the difference to {@link EnginePeer} is the engine and the transport's
 * threading.
 *
 * <pre>JucxPeer server PHASE SECONDS WARMUP DEPTH API ERRMODE
 * JucxPeer client PHASE SECONDS WARMUP DEPTH API ERRMODE PORT</pre>
 *
 * <p>PHASE is {@code stream} (throughput, the server measures) or {@code pingpong} (the client
 * measures, half the round trip); API is {@code stream}, {@code stream-iov} (the stream calls with
 * address and size arrays, as the transport makes them) or {@code tag}; ERRMODE is {@code peer}
 * (peer error handling on the endpoint, as the UCX transport has it) or {@code none}. Output and
 * control lines as {@link EnginePeer}'s.
 */
public final class JucxPeer {
    private final UcpContext context;
    private final UcpWorker worker;
    private final boolean tag;
    /** Stream calls with one-element address and size arrays (UCX's iov datatype), as the transport makes them. */
    private final boolean iov;
    private final long nanos;
    private final long warmupNanos;
    private final int depth;
    private volatile boolean stop;
    private volatile boolean close;
    private UcpEndpoint endpoint;

    private JucxPeer(double seconds, double warmup, int depth, String api) {
        this.nanos = (long) (seconds * 1e9);
        this.warmupNanos = (long) (warmup * 1e9);
        this.depth = depth;
        this.tag = api.equals("tag");
        this.iov = api.equals("stream-iov");
        if (!tag && !iov && !api.equals("stream")) {
            throw new IllegalArgumentException("api " + api);
        }
        // It busy-polls: no wakeup feature (which narrows UCX's lanes). Shared memory offers peer
        // error handling only when asked, as the UCX transport asks.
        this.context = new UcpContext(new UcpParams().requestStreamFeature().requestTagFeature()
                .setConfig("MM_ERROR_HANDLING", "y"));
        this.worker = context.newWorker(new UcpWorkerParams());
    }

    public static void main(String[] args) {
        try {
            if (!"".equals(System.getenv("UCX_ERROR_SIGNALS"))) {
                throw new IllegalStateException("UCX_ERROR_SIGNALS must be set to an empty value");
            }
            boolean server = args[0].equals("server");
            JucxPeer peer = new JucxPeer(Double.parseDouble(args[2]), Double.parseDouble(args[3]), Integer.parseInt(args[4]), args[5]);
            peer.control();
            peer.connect(server, args[6].equals("peer"), server ? 0 : Integer.parseInt(args[7]));
            switch (args[1]) {
                case "stream" -> {
                    if (server) {
                        peer.receiveStream();
                    } else {
                        peer.sendStream();
                    }
                }
                case "pingpong" -> peer.pingPong(!server);
                default -> throw new IllegalArgumentException("phase " + args[1]);
            }
            EnginePeer.say("STOPPED");
            while (!peer.close) {
                Thread.sleep(1);
            }
            EnginePeer.say("DONE");
            // The process ends here; UCX's resources go with it (this is a measurement, not the backend).
            System.exit(0);
        } catch (Throwable t) {
            EnginePeer.say("ERROR " + String.valueOf(t).replace('\n', ' '));
            t.printStackTrace();
            System.exit(1);
        }
    }

    /** {@code stop} and {@code close} on standard input, read by a thread of their own. */
    private void control() {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null;) {
                    switch (line.trim()) {
                        case "stop" -> stop = true;
                        case "close" -> close = true;
                        default -> {
                        }
                    }
                }
            } catch (IOException e) {
                // the benchmark went away
            }
            stop = true;
            close = true;
        }, "control");
        t.setDaemon(true);
        t.start();
    }

    /** Swaps worker addresses over TCP, as ucx_perftest does, and makes the endpoint. */
    private void connect(boolean server, boolean peerErrors, int port) throws Exception {
        ByteBuffer mine = worker.getAddress();
        byte[] own = new byte[mine.remaining()];
        mine.duplicate().get(own);
        byte[] theirs;
        if (server) {
            try (ServerSocket listener = new ServerSocket()) {
                listener.bind(new InetSocketAddress(TcpBenchmark.LOOPBACK, 0));
                EnginePeer.say("PORT " + listener.getLocalPort());
                try (Socket s = listener.accept()) {
                    theirs = swap(s, own);
                }
            }
        } else {
            try (Socket s = new Socket(TcpBenchmark.LOOPBACK, port)) {
                theirs = swap(s, own);
            }
        }
        ByteBuffer address = ByteBuffer.allocateDirect(theirs.length).put(theirs).flip();
        UcpEndpointParams params = new UcpEndpointParams().setUcpAddress(address);
        if (peerErrors) {
            params.setPeerErrorHandlingMode();
        }
        endpoint = worker.newEndpoint(params);
    }

    private static byte[] swap(Socket s, byte[] own) throws IOException {
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeInt(own.length);
        out.write(own);
        out.flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] theirs = new byte[in.readInt()];
        in.readFully(theirs);
        return theirs;
    }

    private UcpRequest send(long address, long size) {
        if (iov) {
            return endpoint.sendStreamNonBlocking(new long[] {address}, new long[] {size}, null);
        }
        return tag ? endpoint.sendTaggedNonBlocking(address, size, 0, null) : endpoint.sendStreamNonBlocking(address, size, null);
    }

    private UcpRequest receive(long address, long size) {
        if (iov) {
            return endpoint.recvStreamNonBlocking(new long[] {address}, new long[] {size}, UcpConstants.UCP_STREAM_RECV_FLAG_WAITALL, null);
        }
        return tag ? worker.recvTaggedNonBlocking(address, size, 0, 0, null)
                : endpoint.recvStreamNonBlocking(address, size, UcpConstants.UCP_STREAM_RECV_FLAG_WAITALL, null);
    }

    private void await(UcpRequest r) throws Exception {
        while (!r.isCompleted()) {
            worker.progress();
        }
        if (r.getStatus() != 0) {
            throw new IllegalStateException("UCX request failed with status " + r.getStatus());
        }
    }

    private void pingPong(boolean client) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(TcpBenchmark.PING);
        long address = UcxUtils.getAddress(b);
        long warmEnd = System.nanoTime() + warmupNanos;
        long start = 0;
        long rounds = 0;
        boolean reported = false;
        while (!stop) {
            if (client) {
                UcpRequest r = receive(address, TcpBenchmark.PING);
                await(send(address, TcpBenchmark.PING));
                await(r);
                rounds++;
                long now = System.nanoTime();
                if (start == 0 && now >= warmEnd) {
                    start = now;
                    rounds = 0;
                } else if (!reported && start != 0 && now - start >= nanos) {
                    EnginePeer.say(String.format(Locale.ROOT, "RESULT %.4f", (now - start) / 1e3 / rounds / 2));
                    reported = true;
                }
            } else {
                UcpRequest r = receive(address, TcpBenchmark.PING);
                while (!r.isCompleted() && !stop) {
                    worker.progress();
                }
                if (stop) {
                    return;
                }
                await(send(address, TcpBenchmark.PING));
            }
        }
    }

    private void sendStream() throws Exception {
        ByteBuffer[] buffers = new ByteBuffer[depth];
        UcpRequest[] inFlight = new UcpRequest[depth];
        for (int i = 0; i < depth; i++) {
            buffers[i] = ByteBuffer.allocateDirect(TcpBenchmark.CHUNK);
            inFlight[i] = send(UcxUtils.getAddress(buffers[i]), TcpBenchmark.CHUNK);
        }
        int open = depth;
        while (open > 0) {
            worker.progress();
            for (int i = 0; i < depth; i++) {
                if (inFlight[i] != null && inFlight[i].isCompleted()) {
                    if (stop) {
                        inFlight[i] = null;
                        open--;
                    } else {
                        inFlight[i] = send(UcxUtils.getAddress(buffers[i]), TcpBenchmark.CHUNK);
                    }
                }
            }
        }
    }

    private void receiveStream() throws Exception {
        ByteBuffer[] buffers = new ByteBuffer[depth];
        UcpRequest[] posted = new UcpRequest[depth];
        for (int i = 0; i < depth; i++) {
            buffers[i] = ByteBuffer.allocateDirect(TcpBenchmark.CHUNK);
            posted[i] = receiveChunk(buffers[i]);
        }
        long received = 0;
        long warmEnd = System.nanoTime() + warmupNanos;
        long start = 0;
        long startBytes = 0;
        boolean reported = false;
        while (!stop) {
            worker.progress();
            for (int i = 0; i < depth; i++) {
                if (posted[i].isCompleted()) {
                    received += posted[i].getRecvSize();
                    posted[i] = receiveChunk(buffers[i]);
                }
            }
            long now = System.nanoTime();
            if (start == 0 && now >= warmEnd) {
                start = now;
                startBytes = received;
            } else if (!reported && start != 0 && now - start >= nanos) {
                EnginePeer.say(String.format(Locale.ROOT, "RESULT %.6g", (received - startBytes) / (1024.0 * 1024.0) / ((now - start) / 1e9)));
                reported = true;
            }
        }
    }

    /** A 1 MiB receive; on the stream API it completes with what arrived, like the transport's. */
    private UcpRequest receiveChunk(ByteBuffer b) {
        long address = UcxUtils.getAddress(b);
        if (iov) {
            return endpoint.recvStreamNonBlocking(new long[] {address}, new long[] {TcpBenchmark.CHUNK}, 0, null);
        }
        return tag ? worker.recvTaggedNonBlocking(address, TcpBenchmark.CHUNK, 0, 0, null)
                : endpoint.recvStreamNonBlocking(address, TcpBenchmark.CHUNK, 0, null);
    }
}
