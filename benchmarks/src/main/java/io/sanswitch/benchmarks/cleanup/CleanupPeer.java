package io.sanswitch.benchmarks.cleanup;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.sanswitch.conformance.Ports;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.rdma.UcxTransports;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.transport.Transport;

/**
 * The far ends of a {@link CleanupFixture}'s connections, in a process of its own: 10,000
 * connections with both ends in one process need more descriptors than the open-file limit of a
 * process allows where it cannot be raised. A provider on the measured transport that listens
 * and accepts every connection, and never sends.
 *
 * <p>Protocol, one line each way: it prints {@code PORT n} when listening; on {@code await n} on
 * standard input it prints {@code ACCEPTED m} once it has accepted m >= n connections in this run
 * (or after 60 s, with fewer: the backend refuses connections beyond its backlog, so the measuring
 * side paces its connects by this); on {@code next} it ends its run (final cleanup: the accepted
 * sockets go), starts a new one and prints the new {@code PORT}; end of input ends it.
 * {@code ERROR text} on failure.
 *
 * <pre>CleanupPeer nio | ucx POLICY TLS</pre>
 */
public final class CleanupPeer {
    private final ProviderEngine engine;
    private final Upcalls upcalls = new Upcalls();
    private volatile Thread acceptor;
    private volatile boolean stopping;
    private final AtomicInteger accepted = new AtomicInteger();
    private final Object acceptedChanged = new Object();

    private CleanupPeer(Transport transport, String name) {
        this.engine = new ProviderEngine(transport, EngineConfig.defaults(name));
    }

    public static void main(String[] args) {
        try {
            CleanupPeer peer = args[0].equals("nio") ? new CleanupPeer(new NioTransport(1, true), "tcp")
                    : new CleanupPeer(UcxTransports.create(args[1], args.length > 2 ? args[2] : ""), "ucx");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            peer.start();
            for (String line; (line = in.readLine()) != null; ) {
                if (line.equals("next")) {
                    peer.stop();
                    peer.start();
                } else if (line.startsWith("await ")) {
                    System.out.println("ACCEPTED " + peer.awaitAccepted(Integer.parseInt(line.substring(6).trim())));
                    System.out.flush();
                }
            }
            peer.stop();
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("ERROR " + String.valueOf(t).replace('\n', ' '));
            System.out.flush();
            t.printStackTrace();
            System.exit(1);
        }
    }

    private void start() throws Exception {
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
        InetSocketAddress at = Ports.freeLoopback();
        SocketHandle listener = engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        engine.bind(listener, at);
        engine.listen(listener, 1024);
        Signal acceptable = new Signal();
        engine.eventSelect(listener, acceptable, NetworkEvents.FD_ACCEPT);
        stopping = false;
        accepted.set(0);
        Thread t = new Thread(() -> acceptAll(listener, acceptable), "cleanup-peer-acceptor");
        t.setDaemon(true);
        acceptor = t;
        t.start();
        System.out.println("PORT " + at.getPort());
        System.out.flush();
    }

    private void acceptAll(SocketHandle listener, Signal acceptable) {
        while (!stopping) {
            try {
                engine.accept(listener, (from, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
                accepted.incrementAndGet();
                synchronized (acceptedChanged) {
                    acceptedChanged.notifyAll();
                }
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEWOULDBLOCK && e.error() != WsaError.WSATRY_AGAIN
                        && e.error() != WsaError.WSAECONNREFUSED) {
                    if (!stopping) {
                        System.err.println("cleanup peer: accept failed: " + e);
                    }
                    return;
                }
                try {
                    acceptable.permits.tryAcquire(5, TimeUnit.MILLISECONDS);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private int awaitAccepted(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        synchronized (acceptedChanged) {
            while (accepted.get() < n && System.nanoTime() < deadline) {
                acceptedChanged.wait(10);
            }
        }
        return accepted.get();
    }

    private void stop() throws Exception {
        stopping = true;
        Thread t = acceptor;
        if (t != null) {
            t.join(10_000);
        }
        engine.cleanup();
    }

    private static final class Signal implements EventHandle {
        final Semaphore permits = new Semaphore(0);
    }

    private static final class Upcalls implements UpcallTable {
        private long handles;

        @Override
        public synchronized long createSocketHandle(SocketHandle providerSocket) {
            return ++handles;
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped ov, OverlappedResult result) {
        }

        @Override
        public void setEvent(EventHandle event) {
            if (event instanceof Signal s) {
                s.permits.release();
            }
        }

        @Override
        public void resetEvent(EventHandle event) {
        }
    }
}
