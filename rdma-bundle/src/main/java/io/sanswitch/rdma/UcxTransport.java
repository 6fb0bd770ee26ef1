package io.sanswitch.rdma;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpListener;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.transport.TransportEvents;
import io.sanswitch.transport.TransportSocket;

/**
 * The RDMA backend on UCX (JUCX): a context and one worker with its progress thread per run,
 * listeners and endpoints by socket address, stream data path, memory mapping and RMA put/get for
 * the SAN extensions. It counts nothing and orders nothing: the engine owns every SPI rule.
 *
 * <p>The JVM must run with {@code UCX_ERROR_SIGNALS} set to an empty value, so that UCX's own
 * signal handlers stay out of the JVM's way (TOOLCHAIN 12, openucx/ucx#3337).
 */
public final class UcxTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(UcxTransport.class);
    private static final Duration TEARDOWN_WAIT = Duration.ofSeconds(5);

    private final ProgressPolicy policy;
    private final String transports;
    private final Set<UcxSocket> sockets = ConcurrentHashMap.newKeySet();
    private final Set<InetSocketAddress> listenedOn = ConcurrentHashMap.newKeySet();
    /** Listeners of closed sockets: refusing, destroyed right before the worker. Worker thread only. */
    private final List<UcpListener> retired = new ArrayList<>();
    private volatile TransportEvents events;
    private volatile UcpContext context;
    private volatile UcpWorker worker;
    private volatile UcxWorkerThread thread;

    /**
     * @param policy what the progress thread does when idle
     * @param transports UCX transports to use ({@code UCX_TLS}), empty for UCX's choice
     */
    public UcxTransport(ProgressPolicy policy, String transports) {
        this.policy = policy;
        this.transports = transports == null ? "" : transports;
    }

    public UcxTransport() {
        this(ProgressPolicy.SPIN_THEN_WAKEUP, "");
    }

    @Override
    public String name() {
        return "ucx";
    }

    @Override
    public TransportCapabilities capabilities() {
        return new TransportCapabilities(true, true, 0, 0, 64 * 1024);
    }

    @Override
    public void open(TransportEvents events) throws WsaException {
        if (!Ucx.isAvailable()) {
            throw new WsaException(WsaError.WSASYSNOTREADY, "UCX is not available: " + Ucx.unavailabilityCause());
        }
        this.events = events;
        try {
            UcpParams params = new UcpParams().requestStreamFeature().requestRmaFeature().requestWakeupFeature()
                    // Accepted connections then inherit SO_REUSEADDR, so those left in TIME_WAIT by a
                    // forced close do not keep the listener's port (restart at once, DESIGN 2.3 f).
                    .setConfig("CM_REUSEADDR", "y");
            if (!transports.isEmpty()) {
                params.setConfig("TLS", transports);
            }
            context = new UcpContext(params);
            worker = context.newWorker(new UcpWorkerParams().requestWakeupRX().requestWakeupTX());
        } catch (RuntimeException e) {
            if (context != null) {
                context.close();
                context = null;
            }
            throw new WsaException(WsaError.WSASYSNOTREADY, "UCX context or worker: " + e.getMessage(), e);
        }
        thread = new UcxWorkerThread(worker, policy, "sanswitch-ucx-progress");
        thread.start();
    }

    /**
     * Tears the run down in UCX's order (TOOLCHAIN 12): endpoints closed (their receives and
     * sends complete), the worker progressed until every callback came back, then listeners,
     * worker and context destroyed, and the progress thread stopped.
     */
    @Override
    public void close() {
        UcxWorkerThread t = thread;
        if (t == null) {
            return;
        }
        for (UcxSocket s : new ArrayList<>(sockets)) {
            s.reset();
        }
        Runnable destroy = () -> {
            for (UcpListener l : retired) {
                try {
                    l.close();
                } catch (RuntimeException e) {
                    LOG.warn("closing a UCX listener", e);
                }
            }
            retired.clear();
            try {
                worker.close();
            } catch (RuntimeException e) {
                LOG.warn("closing the UCX worker", e);
            }
            try {
                context.close();
            } catch (RuntimeException e) {
                LOG.warn("closing the UCX context", e);
            }
        };
        // The worker is destroyed by its own thread after its last progress call; from inside a
        // UCX callback (a cleanup made in an upcall) that happens when the callback has returned.
        t.stop(destroy);
        thread = null;
        awaitPortsFree();
    }

    void retire(UcpListener listener) {
        retired.add(listener);
    }

    void listening(InetSocketAddress address) {
        listenedOn.add(address);
    }

    /**
     * UCX closes a listener's socket asynchronously; the run is over only when its ports can be
     * bound again (DESIGN 2.3 f: restartable at once, ports freed). Bounded wait.
     */
    private void awaitPortsFree() {
        long deadline = System.nanoTime() + TEARDOWN_WAIT.toNanos();
        for (InetSocketAddress address : listenedOn) {
            while (!bindable(address)) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.warn("port {} still busy {} s after the UCX teardown", address, TEARDOWN_WAIT.toSeconds());
                    break;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        listenedOn.clear();
    }

    private static boolean bindable(InetSocketAddress address) {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(address);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public boolean networkSubsystemFailed() {
        return false;
    }

    @Override
    public TransportSocket newSocket(int addressFamily) throws WsaException {
        if (addressFamily != Winsock.AF_INET) {
            throw new WsaException(WsaError.WSAEAFNOSUPPORT, "this backend speaks IPv4 only");
        }
        UcxSocket s = new UcxSocket(this, thread);
        sockets.add(s);
        return s;
    }

    void adopt(UcxSocket s) {
        sockets.add(s);
    }

    void forget(UcxSocket s) {
        sockets.remove(s);
    }

    TransportEvents events() {
        return events;
    }

    UcpWorker worker() {
        return worker;
    }

    UcpContext context() {
        return context;
    }

    int openSockets() {
        return sockets.size();
    }

    boolean progressThreadAlive() {
        UcxWorkerThread t = thread;
        return t != null && t.isAlive();
    }

    @Override
    public List<InetAddress> localAddresses() throws WsaException {
        try {
            List<InetAddress> all = new ArrayList<>();
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (ni.isUp()) {
                    all.addAll(Collections.list(ni.getInetAddresses()));
                }
            }
            return all;
        } catch (SocketException e) {
            throw new WsaException(WsaError.WSAENETDOWN, "cannot list interfaces: " + e.getMessage(), e);
        }
    }
}
