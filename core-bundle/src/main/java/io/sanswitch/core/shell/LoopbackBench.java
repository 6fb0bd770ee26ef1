package io.sanswitch.core.shell;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * {@code san:bench}: two sockets of one provider connected over loopback, driven through the SPI
 * exactly as a switch drives them (its own startup reference, overlapped transfers into registered
 * memory). First a one-way stream of 1 MiB chunks, each checked on arrival, then 64-byte echoes for
 * the round trip. Everything it opens is closed, and its startup released, whatever happens.
 */
final class LoopbackBench {
    static final int CHUNK = 1 << 20;
    static final int ECHO = 64;
    /** Any single completion taking longer than this means the provider is stuck. */
    static final long WAIT_MILLIS = 10_000;

    /** What one run measured. */
    record Result(String provider, long bytes, long streamNanos, int roundTrips, long medianRoundTripNanos,
            long p99RoundTripNanos) {
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

    /** The bench's upcall table: handles by counter, event objects it can wait on. */
    private static final class BenchSwitch implements UpcallTable {
        private final AtomicLong handles = new AtomicLong();

        @Override
        public long createSocketHandle(SocketHandle providerSocket) {
            return handles.incrementAndGet();
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
            // awaited through Overlapped.awaitResult
        }

        @Override
        public void setEvent(EventHandle event) {
            if (event instanceof Signal s) {
                s.signals.offer(Boolean.TRUE);
            }
        }

        @Override
        public void resetEvent(EventHandle event) {
        }
    }

    private static final class Signal implements EventHandle {
        final LinkedBlockingQueue<Boolean> signals = new LinkedBlockingQueue<>();

        void await(String what) throws BenchException, InterruptedException {
            if (signals.poll(WAIT_MILLIS, TimeUnit.MILLISECONDS) == null) {
                throw new BenchException("no " + what + " within " + WAIT_MILLIS + " ms");
            }
        }
    }

    private final SanServiceProvider provider;
    private final String name;
    private final List<SocketHandle> opened = new ArrayList<>();

    LoopbackBench(SanServiceProvider provider, String name) {
        this.provider = provider;
        this.name = name;
    }

    Result run(Duration duration) throws BenchException, InterruptedException {
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("duration must be positive: " + duration);
        }
        try {
            provider.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, new BenchSwitch());
        } catch (WsaException e) {
            throw new BenchException("startupEx on " + name + " failed: " + e.error(), e);
        }
        try {
            SocketHandle[] pair = connectedPair();
            long streamNanos = duration.toNanos() * 3 / 4;
            long[] stream = stream(pair[0], pair[1], streamNanos);
            long[] rtts = echoes(pair[0], pair[1], duration.toNanos() - streamNanos);
            Arrays.sort(rtts);
            return new Result(name, stream[0], stream[1], rtts.length, rtts[rtts.length / 2],
                    rtts[Math.min(rtts.length - 1, (int) Math.ceil(rtts.length * 0.99) - 1)]);
        } catch (WsaException e) {
            throw failure("a call", e);
        } finally {
            for (SocketHandle s : opened) {
                try {
                    provider.closeSocket(s);
                } catch (WsaException e) {
                    // already gone with a final cleanup; nothing left to release
                }
            }
            try {
                provider.cleanup();
            } catch (WsaException e) {
                // WSANOTINITIALISED: the provider's final cleanup ran meanwhile (bundle stopped)
            }
        }
    }

    private BenchException failure(String what, WsaException e) {
        String hint = e.error() == WsaError.WSANOTINITIALISED || e.error() == WsaError.WSA_OPERATION_ABORTED
                ? " (the " + name + " provider was cleaned up during the bench)" : "";
        return new BenchException(what + " on " + name + " failed: " + e.error() + hint, e);
    }

    private SocketHandle newSocket() throws WsaException {
        SocketHandle s = provider.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        opened.add(s);
        return s;
    }

    /** A listener on a free loopback port, a client connected to it, and the accepted socket. */
    private SocketHandle[] connectedPair() throws WsaException, BenchException, InterruptedException {
        SocketHandle listener = newSocket();
        InetSocketAddress at = bindFreePort(listener);
        provider.listen(listener, 4);
        Signal acceptable = new Signal();
        provider.eventSelect(listener, acceptable, NetworkEvents.FD_ACCEPT);
        SocketHandle client = newSocket();
        Signal connected = new Signal();
        provider.eventSelect(client, connected, NetworkEvents.FD_CONNECT);
        boolean now = provider.connect(client, at, null) == ConnectStatus.CONNECTED;
        AcceptedSocket accepted = null;
        while (accepted == null) {
            try {
                accepted = provider.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEWOULDBLOCK) {
                    throw e;
                }
                acceptable.await("connection request on " + at);
            }
        }
        opened.add(accepted.socket());
        if (!now) {
            connected.await("FD_CONNECT");
            WsaError error = provider.enumNetworkEvents(client, connected).errorFor(NetworkEvents.FD_CONNECT_BIT);
            if (error != null) {
                throw new BenchException("connect to " + at + " failed: " + error);
            }
        }
        return new SocketHandle[] {client, accepted.socket()};
    }

    /** Binds to a loopback port that was free a moment ago; another binder may win, so retry. */
    private InetSocketAddress bindFreePort(SocketHandle s) throws WsaException, BenchException {
        WsaException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            InetSocketAddress at;
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                at = new InetSocketAddress(InetAddress.getLoopbackAddress(), probe.getLocalPort());
            } catch (IOException e) {
                throw new BenchException("no free loopback port: " + e.getMessage(), e);
            }
            try {
                provider.bind(s, at);
                return at;
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEADDRINUSE) {
                    throw e;
                }
                last = e;
            }
        }
        throw new BenchException("no loopback port could be bound after 5 attempts: " + last.getMessage(), last);
    }

    /**
     * Streams 1 MiB chunks client → server for {@code nanos}, one in flight, each stamped with its
     * sequence number and compared byte for byte on arrival.
     *
     * @return bytes received and checked, and the nanoseconds it took
     */
    private long[] stream(SocketHandle client, SocketHandle server, long nanos)
            throws WsaException, BenchException, InterruptedException {
        ByteBuffer out = ByteBuffer.allocateDirect(CHUNK);
        ByteBuffer in = ByteBuffer.allocateDirect(CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            out.put(i, (byte) (i * 31 + 7));
        }
        MemoryHandle source = provider.registerMemory(client, out, Winsock.MEM_READ);
        MemoryHandle sink = provider.registerMemory(server, in, Winsock.MEM_WRITE);
        Overlapped send = Overlapped.notifying(null);
        Overlapped recv = Overlapped.notifying(null);
        long bytes = 0;
        long start = System.nanoTime();
        long chunk = 0;
        do {
            out.putLong(0, chunk);
            provider.send(client, new WsaBuf[] {WsaBuf.of(source)}, 0, send);
            int got = 0;
            while (got < CHUNK) {
                provider.recv(server, new WsaBuf[] {new WsaBuf(sink, got, CHUNK - got)}, recv);
                long n = await(recv, "receive");
                if (n == 0) {
                    throw new BenchException("the " + name + " stream ended after " + (bytes + got) + " bytes");
                }
                got += (int) n;
            }
            long sent = await(send, "send");
            if (sent != CHUNK) {
                throw new BenchException("a send of " + CHUNK + " bytes completed with " + sent);
            }
            if (in.mismatch(out) != -1) {
                throw new BenchException("chunk " + chunk + " arrived corrupted at byte " + in.mismatch(out));
            }
            bytes += CHUNK;
            chunk++;
        } while (System.nanoTime() - start < nanos);
        return new long[] {bytes, System.nanoTime() - start};
    }

    /** 64-byte echoes server-side for {@code nanos} (at least 100); the round trip of each. */
    private long[] echoes(SocketHandle client, SocketHandle server, long nanos)
            throws WsaException, BenchException, InterruptedException {
        ByteBuffer ping = ByteBuffer.allocateDirect(ECHO);
        ByteBuffer pong = ByteBuffer.allocateDirect(ECHO);
        ByteBuffer relay = ByteBuffer.allocateDirect(ECHO);
        MemoryHandle pingMem = provider.registerMemory(client, ping, Winsock.MEM_READ);
        MemoryHandle pongMem = provider.registerMemory(client, pong, Winsock.MEM_WRITE);
        MemoryHandle relayMem = provider.registerMemory(server, relay, Winsock.MEM_READWRITE);
        Overlapped clientSend = Overlapped.notifying(null);
        Overlapped clientRecv = Overlapped.notifying(null);
        Overlapped serverSend = Overlapped.notifying(null);
        Overlapped serverRecv = Overlapped.notifying(null);
        long[] rtts = new long[1024];
        int n = 0;
        long start = System.nanoTime();
        while (n < 100 || (System.nanoTime() - start < nanos && n < 100_000)) {
            for (int i = 0; i < ECHO; i++) {
                ping.put(i, (byte) (n + i));
            }
            long t0 = System.nanoTime();
            provider.send(client, new WsaBuf[] {WsaBuf.of(pingMem)}, 0, clientSend);
            receiveFully(server, relayMem, serverRecv);
            provider.send(server, new WsaBuf[] {WsaBuf.of(relayMem)}, 0, serverSend);
            receiveFully(client, pongMem, clientRecv);
            long rtt = System.nanoTime() - t0;
            await(clientSend, "echo send");
            await(serverSend, "echo reply");
            if (pong.mismatch(ping) != -1) {
                throw new BenchException("echo " + n + " came back different at byte " + pong.mismatch(ping));
            }
            if (n == rtts.length) {
                rtts = Arrays.copyOf(rtts, n * 2);
            }
            rtts[n++] = rtt;
        }
        return Arrays.copyOf(rtts, n);
    }

    private void receiveFully(SocketHandle s, MemoryHandle into, Overlapped ov)
            throws WsaException, BenchException, InterruptedException {
        int got = 0;
        while (got < ECHO) {
            provider.recv(s, new WsaBuf[] {new WsaBuf(into, got, ECHO - got)}, ov);
            long n = await(ov, "echo receive");
            if (n == 0) {
                throw new BenchException("the " + name + " connection ended during the echo");
            }
            got += (int) n;
        }
    }

    /** Waits for one completion; its byte count, or why it failed. */
    private long await(Overlapped ov, String what) throws BenchException, InterruptedException {
        OverlappedResult r = ov.awaitResult(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new BenchException("no completion of a " + what + " on " + name + " within " + WAIT_MILLIS + " ms");
        }
        if (!r.isSuccess()) {
            throw failure(what, new WsaException(r.error(), what + " completed with " + r.error()));
        }
        return r.bytesTransferred();
    }
}
