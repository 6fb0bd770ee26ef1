package io.sanswitch.tcp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.LocalInterfaces;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.transport.TransportEvents;
import io.sanswitch.transport.TransportProperties;
import io.sanswitch.transport.TransportSocket;

/**
 * The plain-TCP fallback backend on java.nio: selector loops that own their sockets, no framing.
 * It counts nothing and orders nothing: the engine owns every SPI rule. Registered as a
 * {@link Transport} service by Declarative Services, configured through PID
 * {@code io.sanswitch.tcp}.
 */
@Component(service = Transport.class, configurationPid = NioTransport.PID,
        property = TransportProperties.TRANSPORT + "=" + NioTransport.NAME)
@Designate(ocd = NioTransport.Config.class)
public final class NioTransport implements Transport {
    public static final String PID = "io.sanswitch.tcp";
    /** The backend's name: {@link #name()} and its service property {@code sanswitch.transport}. */
    public static final String NAME = "tcp";

    /**
     * The Metatype of PID {@code io.sanswitch.tcp}. The component reads the raw properties itself
     * ({@link TcpSettings#read}): an annotation proxy would throw for a bad value.
     */
    @ObjectClassDefinition(name = "sanswitch TCP fallback", description = "The plain-TCP backend on java.nio."
            + " A value out of its range is logged and its default used.")
    public @interface Config {
        @AttributeDefinition(description = "Selector threads (I/O loops) started for each provider run; 1 to "
                + TcpSettings.MAX_THREADS + ".", min = "1", max = "" + TcpSettings.MAX_THREADS)
        int threads() default TcpSettings.THREADS;

        @AttributeDefinition(description = "TCP_NODELAY for new sockets (the switch may change it per socket):"
                + " true or false.")
        boolean tcpNoDelay() default true;

        @AttributeDefinition(description = "SO_RCVBUF of new sockets, in bytes (0 to " + TcpSettings.MAX_BUFFER_BYTES
                + "); 0 keeps the operating system's default.", min = "0", max = "" + TcpSettings.MAX_BUFFER_BYTES)
        int receiveBufferBytes() default 0;

        @AttributeDefinition(description = "SO_SNDBUF of new sockets, in bytes (0 to " + TcpSettings.MAX_BUFFER_BYTES
                + "); 0 keeps the operating system's default.", min = "0", max = "" + TcpSettings.MAX_BUFFER_BYTES)
        int sendBufferBytes() default 0;

        @AttributeDefinition(description = "How often, in milliseconds (" + TcpSettings.MIN_NETWORK_CHECK_MILLIS
                + " to " + TcpSettings.MAX_NETWORK_CHECK_MILLIS + "), the interfaces under open sockets are checked;"
                + " a socket whose local address is gone or whose interface is down fails with WSAENETDOWN.",
                min = "" + TcpSettings.MIN_NETWORK_CHECK_MILLIS, max = "" + TcpSettings.MAX_NETWORK_CHECK_MILLIS)
        int networkCheckMillis() default TcpSettings.NETWORK_CHECK_MILLIS;
    }

    private static final Logger LOG = LoggerFactory.getLogger(NioTransport.class);
    /** Sockets reset between two wakeups of the selector threads (see {@link #reset(List)}). */
    private static final int WAKE_EVERY = 256;

    private final int threads;
    private final int networkCheckMillis;
    private final AtomicBoolean networkFailed = new AtomicBoolean();
    private final NioSocket.Settings settings;
    private final Set<NioSocket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger nextLoop = new AtomicInteger();
    private volatile SelectorLoop[] loops = new SelectorLoop[0];
    private volatile TransportEvents events;

    public NioTransport(int threads, boolean tcpNoDelay) {
        this(threads, new NioSocket.Settings(tcpNoDelay, 0, 0), 200);
    }

    /** Declarative Services: the raw properties of PID {@value #PID}, checked by {@link TcpSettings#read}. */
    @Activate
    public NioTransport(Map<String, Object> properties) {
        this(TcpSettings.read(properties, LOG::warn));
    }

    NioTransport(TcpSettings s) {
        this(s.threads(), s.sockets(), s.networkCheckMillis());
    }

    private NioTransport(int threads, NioSocket.Settings settings, int networkCheckMillis) {
        if (networkCheckMillis < 1) {
            throw new IllegalArgumentException("networkCheckMillis must be at least 1: " + networkCheckMillis);
        }
        this.networkCheckMillis = networkCheckMillis;
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1: " + threads);
        }
        if (settings.receiveBufferBytes() < 0 || settings.sendBufferBytes() < 0) {
            throw new IllegalArgumentException("buffer sizes must not be negative: " + settings);
        }
        this.threads = threads;
        this.settings = settings;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TransportCapabilities capabilities() {
        return TransportCapabilities.streamOnly();
    }

    @Override
    public void open(TransportEvents events) throws WsaException {
        this.events = events;
        networkFailed.set(false);
        SelectorLoop[] started = new SelectorLoop[threads];
        try {
            for (int i = 0; i < threads; i++) {
                started[i] = new SelectorLoop("sanswitch-tcp-" + i);
            }
        } catch (IOException e) {
            for (SelectorLoop l : started) {
                if (l != null) {
                    l.stop();
                }
            }
            throw new WsaException(WsaError.WSASYSNOTREADY, "cannot open a selector: " + e.getMessage(), e);
        }
        started[0].every(networkCheckMillis, this::checkNetwork);
        for (SelectorLoop l : started) {
            l.start();
        }
        loops = started;
    }

    @Override
    public void close() {
        reset(new ArrayList<TransportSocket>(sockets));
        // All loops first, then the waits: each closes its channels' descriptors (the kernel's
        // resets) on its own thread, in parallel.
        for (SelectorLoop l : loops) {
            l.requestStop();
        }
        for (SelectorLoop l : loops) {
            l.awaitStopped();
        }
        loops = new SelectorLoop[0];
    }

    /**
     * Resets them one after the other, waking the selector threads every {@value #WAKE_EVERY}
     * sockets. A registered channel's descriptor is closed (the reset sent) by its selector thread
     * when that next selects: woken as they go, those threads close descriptors while this one
     * resets the rest and the engine releases them, instead of all of them at the transport's close.
     */
    @Override
    public void reset(List<TransportSocket> toReset) {
        RuntimeException first = null;
        int n = 0;
        for (TransportSocket s : toReset) {
            try {
                s.reset();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
            if (++n % WAKE_EVERY == 0) {
                wakeLoops();
            }
        }
        wakeLoops();
        if (first != null) {
            throw first;
        }
    }

    private void wakeLoops() {
        for (SelectorLoop l : loops) {
            l.wakeup();
        }
    }

    @Override
    public boolean networkSubsystemFailed() {
        return networkFailed.get();
    }

    /**
     * The "bound interface is gone" check: a socket whose local address no longer sits on an
     * interface that is up has lost its network. Its pending operations fail with
     * {@code WSAENETDOWN}, and the engine hears that the subsystem failed (it then refuses calls
     * with {@code WSAENETDOWN} and its final cleanup reports it). TCP itself would only time out
     * minutes later.
     */
    private void checkNetwork() {
        List<NioSocket> lost;
        try {
            lost = LocalInterfaces.offline(sockets, NioSocket::boundAddress);
        } catch (SocketException e) {
            LOG.debug("cannot list interfaces", e);
            return;
        }
        for (NioSocket s : lost) {
            networkLost(s.boundAddress());
            s.networkLost();
        }
    }

    /** Whether {@code local} is on an interface that is up (true when that cannot be told). */
    boolean isUp(InetAddress local) {
        try {
            return LocalInterfaces.isUp(local, LocalInterfaces.upAddresses());
        } catch (SocketException e) {
            return true;
        }
    }

    /** Tells the engine, once per run, that the network under {@code local} failed. */
    void networkLost(InetAddress local) {
        if (networkFailed.compareAndSet(false, true)) {
            events.networkSubsystemFailed("interface of " + (local == null ? "a socket" : local.getHostAddress()) + " is gone or down");
        }
    }

    @Override
    public TransportSocket newSocket(int addressFamily) throws WsaException {
        if (addressFamily != Winsock.AF_INET && addressFamily != Winsock.AF_INET6) {
            throw new WsaException(WsaError.WSAEAFNOSUPPORT, "address family " + addressFamily);
        }
        if (addressFamily == Winsock.AF_INET6 && !Ipv6.AVAILABLE) {
            // The channels would open IPv4-only and fail at the first IPv6 address (docs/rules.md NS-ipv6).
            throw new WsaException(WsaError.WSAEAFNOSUPPORT, "this JVM has no IPv6 (java.net.preferIPv4Stack "
                    + System.getProperty("java.net.preferIPv4Stack") + ", or a kernel without IPv6)");
        }
        NioSocket s = new NioSocket(this, loop(), settings);
        sockets.add(s);
        return s;
    }

    /** Whether this JVM opens IPv6 channels; probed once, on the first IPv6 socket. */
    private static final class Ipv6 {
        static final boolean AVAILABLE = probe();

        private static boolean probe() {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.INET6)) {
                return true;
            } catch (UnsupportedOperationException | IOException e) {
                return false;
            }
        }
    }

    NioSocket adopt(SocketChannel accepted) {
        NioSocket s = new NioSocket(this, loop(), accepted, settings);
        sockets.add(s);
        return s;
    }

    void forget(NioSocket s) {
        sockets.remove(s);
    }

    int openSockets() {
        return sockets.size();
    }

    boolean loopsAlive() {
        for (SelectorLoop l : loops) {
            if (l.isAlive()) {
                return true;
            }
        }
        return false;
    }

    TransportEvents events() {
        return events;
    }

    private SelectorLoop loop() {
        SelectorLoop[] l = loops;
        return l[Math.floorMod(nextLoop.getAndIncrement(), l.length)];
    }

    @Override
    public List<InetAddress> localAddresses() throws WsaException {
        return LocalInterfaces.forAddressListQuery();
    }
}
