package io.sanswitch.benchmarks.cleanup;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.sanswitch.core.CleanupRecord;
import io.sanswitch.core.CleanupSteps;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.ConnectStatus;
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
import io.sanswitch.transport.Transport;

/**
 * One measured situation: a provider with {@code sockets} loopback connections to a
 * {@link CleanupPeer} (the far ends, in another process), and {@code pending}
 * receives posted on the measured side's sockets, round-robin, that cannot complete (the peer
 * never sends). {@link #timeFinalCleanup()} then times the measured provider's final cleanup.
 */
final class CleanupFixture implements AutoCloseable {
    /** Connections set up at once: below the backend's largest backlog (1,024). */
    private static final int CONNECT_BATCH = 512;
    private static final long STEP_TIMEOUT_SECONDS = 60;

    private final CountingSwitch upcalls = new CountingSwitch();
    private final ProviderEngine measured;
    private final int sockets;
    private final int pending;
    private boolean measuredDone;

    /**
     * @param transports makes the measured provider's new, unopened transport
     * @param peer the far ends ({@link CleanupPeer}, another process)
     */
    CleanupFixture(Supplier<Transport> transports, String name, int sockets, int pending, PeerProcess peer)
            throws Exception {
        this.sockets = sockets;
        this.pending = pending;
        this.measured = new ProviderEngine(transports.get(), EngineConfig.defaults(name));
        measured.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
        try {
            post(connect(peer));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    private List<SocketHandle> connect(PeerProcess peer) throws Exception {
        InetSocketAddress at = peer.address();
        Signal connected = new Signal();
        List<SocketHandle> clients = new ArrayList<>(sockets);
        for (int done = 0; done < sockets; done += CONNECT_BATCH) {
            int batch = Math.min(CONNECT_BATCH, sockets - done);
            int inProgress = 0;
            for (int i = 0; i < batch; i++) {
                SocketHandle s = measured.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
                measured.eventSelect(s, connected, NetworkEvents.FD_CONNECT);
                if (measured.connect(s, at, null) == ConnectStatus.IN_PROGRESS) {
                    inProgress++;
                }
                clients.add(s);
            }
            if (!connected.permits.tryAcquire(inProgress, STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("connections did not complete within " + STEP_TIMEOUT_SECONDS + " s ("
                        + clients.size() + " of " + sockets + " started)");
            }
            // The backend refuses connections beyond its backlog: the next batch waits for this one.
            int taken = peer.awaitAccepted(clients.size());
            if (taken < clients.size()) {
                throw new IllegalStateException("the peer accepted " + taken + " of " + clients.size() + " connections");
            }
        }
        return clients;
    }

    private void post(List<SocketHandle> clients) throws WsaException {
        MemoryHandle[] buffers = new MemoryHandle[clients.size()];
        for (int i = 0; i < clients.size(); i++) {
            buffers[i] = measured.registerMemory(clients.get(i), ByteBuffer.allocateDirect(64), Winsock.MEM_WRITE);
        }
        for (int i = 0; i < pending; i++) {
            int s = i % clients.size();
            measured.recv(clients.get(s), new WsaBuf[] {WsaBuf.of(buffers[s])}, Overlapped.notifying(null));
        }
        if (measured.pendingOperations() != pending) {
            throw new IllegalStateException(measured.pendingOperations() + " operations pending instead of " + pending
                    + " (" + upcalls.completions() + " completed early, the first with " + upcalls.failure.get() + ")");
        }
    }

    /**
     * Times the measured provider's final cleanup (its last startup released) and checks what it
     * did: every operation completed once, aborted, and every socket released.
     */
    Sample timeFinalCleanup() throws WsaException {
        // The set-up's garbage is collected now, not during the measured cleanup.
        System.gc();
        long before = upcalls.completions();
        long t0 = System.nanoTime();
        measured.cleanup();
        long total = System.nanoTime() - t0;
        measuredDone = true;
        CleanupRecord r = measured.cleanupHistory().get(measured.cleanupHistory().size() - 1);
        if (upcalls.failure.get() != null) {
            throw new IllegalStateException("a completion was not WSA_OPERATION_ABORTED: " + upcalls.failure.get());
        }
        if (r.operationsAborted() != pending || upcalls.completions() - before != pending
                || r.socketsReset() != sockets) {
            throw new IllegalStateException("cleanup aborted " + r.operationsAborted() + " (completed "
                    + (upcalls.completions() - before) + ") of " + pending + " operations and reset " + r.socketsReset()
                    + " of " + sockets + " sockets");
        }
        return new Sample(total, r.steps());
    }

    @Override
    public void close() throws WsaException {
        if (!measuredDone && measured.isRunning()) {
            measured.cleanup();
        }
    }

    /** One final cleanup: wall time around {@code cleanup()} and the engine's own split. */
    record Sample(long totalNanos, CleanupSteps steps) {
    }

    /** An event object whose every setting is one permit. */
    private static final class Signal implements EventHandle {
        final Semaphore permits = new Semaphore(0);
    }

    /** The switch's side: counts completions, checks they are aborts, turns events into permits. */
    private static final class CountingSwitch implements UpcallTable {
        private final AtomicLong handles = new AtomicLong();
        private final LongAdder completed = new LongAdder();
        final AtomicReference<OverlappedResult> failure = new AtomicReference<>();

        long completions() {
            return completed.sum();
        }

        @Override
        public long createSocketHandle(SocketHandle providerSocket) {
            return handles.incrementAndGet();
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped ov, OverlappedResult result) {
            completed.increment();
            if (result.error() != WsaError.WSA_OPERATION_ABORTED) {
                failure.compareAndSet(null, result);
            }
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
