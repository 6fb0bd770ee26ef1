package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.Transport;

/**
 * One side of a kit test: a real backend under a provider engine, driven the way a switch drives
 * it (event-selected connect and accept, registered direct buffers, overlapped transfers).
 */
public final class KitProvider implements AutoCloseable {
    static final long WAIT_SECONDS = 20;

    public final Transport transport;
    public final ProviderEngine engine;
    public final KitSwitch upcalls = new KitSwitch();

    public KitProvider(Transport transport) {
        this.transport = transport;
        this.engine = new ProviderEngine(transport, EngineConfig.defaults(transport.name()));
    }

    public void startup() throws WsaException {
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
    }

    public SocketHandle socket() throws WsaException {
        return engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
    }

    /** A listener on {@code address} with FD_ACCEPT selected on {@code event}. */
    public SocketHandle listen(InetSocketAddress address, int backlog, KitSwitch.Event event) throws WsaException {
        SocketHandle l = socket();
        engine.bind(l, address);
        engine.listen(l, backlog);
        engine.eventSelect(l, event, NetworkEvents.FD_ACCEPT);
        return l;
    }

    /** Starts a connect with FD_CONNECT selected on {@code event}; does not wait. */
    public ConnectStatus startConnect(SocketHandle s, InetSocketAddress to, KitSwitch.Event event) throws WsaException {
        engine.eventSelect(s, event, NetworkEvents.FD_CONNECT);
        return engine.connect(s, to, null);
    }

    /** Connects and waits for the outcome; returns the FD_CONNECT status ({@code null} = connected). */
    public WsaError connect(SocketHandle s, InetSocketAddress to) throws Exception {
        KitSwitch.Event event = new KitSwitch.Event();
        try {
            if (startConnect(s, to, event) == ConnectStatus.CONNECTED) {
                return null;
            }
        } catch (WsaException e) {
            return e.error();
        }
        assertTrue(event.await(WAIT_SECONDS, TimeUnit.SECONDS), "no FD_CONNECT");
        NetworkEventRecord r = engine.enumNetworkEvents(s, event);
        assertTrue(r.has(NetworkEvents.FD_CONNECT), "FD_CONNECT recorded: " + r);
        return r.errorFor(NetworkEvents.FD_CONNECT_BIT);
    }

    /** A connected pair: the client's socket and the listener side's accepted socket. */
    public record Pair(SocketHandle client, SocketHandle server) {
    }

    /**
     * Connects a socket of this provider to {@code server}'s listener and accepts it there, the
     * way a switch does: the connect is started, the request accepted on FD_ACCEPT, then FD_CONNECT
     * awaited. Some backends (UCX) finish a connect only once the peer accepted it.
     */
    public Pair connectTo(KitProvider server, SocketHandle listener, KitSwitch.Event acceptEvent, InetSocketAddress at)
            throws Exception {
        SocketHandle c = socket();
        KitSwitch.Event connectEvent = new KitSwitch.Event();
        boolean done = startConnect(c, at, connectEvent) == ConnectStatus.CONNECTED;
        AcceptedSocket s = server.accept(listener, acceptEvent, ConditionDecision.CF_ACCEPT);
        if (!done) {
            assertTrue(connectEvent.await(WAIT_SECONDS, TimeUnit.SECONDS), "no FD_CONNECT");
            assertNull(engine.enumNetworkEvents(c, connectEvent).errorFor(NetworkEvents.FD_CONNECT_BIT), "connect to " + at);
        }
        return new Pair(c, s.socket());
    }

    /** A connected socket (to a peer that accepts by itself, e.g. a plain TCP server), or the test fails. */
    public SocketHandle connected(InetSocketAddress to) throws Exception {
        SocketHandle s = socket();
        assertNull(connect(s, to), "connect to " + to);
        return s;
    }

    /** Waits for FD_ACCEPT on {@code event}, then accepts with {@code decision}. */
    public AcceptedSocket accept(SocketHandle listener, KitSwitch.Event event, ConditionDecision decision)
            throws Exception {
        while (true) {
            try {
                return engine.accept(listener, (peer, data, cb) -> decision, 0);
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEWOULDBLOCK) {
                    throw e;
                }
            }
            assertTrue(event.await(WAIT_SECONDS, TimeUnit.SECONDS), "no FD_ACCEPT");
        }
    }

    public MemoryHandle register(SocketHandle s, ByteBuffer buffer, int access) throws WsaException {
        return engine.registerMemory(s, buffer, access);
    }

    /** Posts a send of {@code data} (copied into a registered direct buffer). */
    public Overlapped send(SocketHandle s, byte[] data, Overlapped.Mode mode) throws WsaException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(data.length).put(data).flip();
        MemoryHandle m = register(s, buffer, Winsock.MEM_READ);
        Overlapped ov = overlapped(mode, m);
        engine.send(s, new WsaBuf[] {WsaBuf.of(m)}, 0, ov);
        return ov;
    }

    /** A posted receive of up to {@code size} bytes into a registered direct buffer. */
    public Receive recv(SocketHandle s, int size, Overlapped.Mode mode) throws WsaException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(size);
        MemoryHandle m = register(s, buffer, Winsock.MEM_WRITE);
        Overlapped ov = overlapped(mode, m);
        engine.recv(s, new WsaBuf[] {WsaBuf.of(m)}, ov);
        return new Receive(ov, buffer, m);
    }

    /** A posted receive and the buffer it fills. */
    public record Receive(Overlapped overlapped, ByteBuffer buffer, MemoryHandle registration) {
        public byte[] bytes(long n) {
            byte[] out = new byte[(int) n];
            buffer.duplicate().clear().get(out);
            return out;
        }
    }

    private static Overlapped overlapped(Overlapped.Mode mode, Object context) {
        return mode == Overlapped.Mode.NOTIFY ? Overlapped.notifying(context) : Overlapped.polling(context);
    }

    /** The outcome of {@code ov}, waited for. */
    public static OverlappedResult await(Overlapped ov) throws InterruptedException {
        OverlappedResult r = ov.awaitResult(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(r, "no completion within " + WAIT_SECONDS + " s for " + ov);
        return r;
    }

    /** Receives exactly {@code total} bytes with receives of at most {@code chunk}. */
    public byte[] receiveExactly(SocketHandle s, int total, int chunk) throws Exception {
        byte[] all = new byte[total];
        int got = 0;
        while (got < total) {
            Receive r = recv(s, Math.min(chunk, total - got), Overlapped.Mode.POLL);
            OverlappedResult result = await(r.overlapped());
            assertTrue(result.isSuccess(), "receive failed: " + result);
            assertTrue(result.bytesTransferred() > 0, "the stream ended after " + got + " of " + total + " bytes");
            System.arraycopy(r.bytes(result.bytesTransferred()), 0, all, got, (int) result.bytesTransferred());
            got += (int) result.bytesTransferred();
            engine.deregisterMemory(s, r.registration());
        }
        return all;
    }

    /** Checks that an operation ended exactly once, in its own mode, with {@code expected}. */
    public void assertCompletedOnce(Overlapped ov, WsaError expected) throws InterruptedException {
        OverlappedResult r = await(ov);
        assertEquals(expected, r.error(), "status of " + ov);
        assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, upcalls.settledCompletionsOf(ov), "completion upcalls of " + ov);
    }

    /** After a final cleanup: no socket is left and a descriptor of the ended run is stale. */
    public void assertNoSocketLeft(SocketHandle ofEndedRun) {
        assertEquals(0, engine.openSockets(), "sockets left after the final cleanup");
        WsaException e = org.junit.jupiter.api.Assertions.assertThrows(WsaException.class,
                () -> engine.getSockOpt(ofEndedRun, Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY));
        assertTrue(e.error() == WsaError.WSANOTINITIALISED || e.error() == WsaError.WSAENOTSOCK, e.toString());
    }

    /** Runs the final cleanup if a startup is still outstanding; the engine is idle afterwards. */
    @Override
    public void close() {
        while (engine.isRunning()) {
            try {
                engine.cleanup();
            } catch (WsaException e) {
                if (e.error() == WsaError.WSANOTINITIALISED) {
                    return;
                }
            }
        }
    }
}
