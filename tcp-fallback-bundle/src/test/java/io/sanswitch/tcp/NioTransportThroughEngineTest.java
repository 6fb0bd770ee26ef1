package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.Ports;
import io.sanswitch.core.EngineConfig;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The NIO backend under the provider engine over real loopback TCP: plain bytes on the wire
 * (interop with java.net.Socket), posted receives, and the final cleanup's aborts and resets.
 */
@Timeout(60)
class NioTransportThroughEngineTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    final NioTransport transport = new NioTransport(2, true);
    final ProviderEngine engine = new ProviderEngine(transport, EngineConfig.defaults("tcp"));
    final Switch upcalls = new Switch();

    /** A minimal switch: completions and events into queues, completion counts per overlapped. */
    static final class Switch implements UpcallTable {
        final LinkedBlockingQueue<Overlapped> completed = new LinkedBlockingQueue<>();
        final Map<Overlapped, AtomicInteger> counts = new ConcurrentHashMap<>();
        final LinkedBlockingQueue<EventHandle> events = new LinkedBlockingQueue<>();
        final AtomicInteger handles = new AtomicInteger();

        @Override
        public long createSocketHandle(SocketHandle providerSocket) {
            return handles.incrementAndGet();
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
            counts.computeIfAbsent(overlapped, k -> new AtomicInteger()).incrementAndGet();
            completed.add(overlapped);
        }

        @Override
        public void setEvent(EventHandle event) {
            events.add(event);
        }

        @Override
        public void resetEvent(EventHandle event) {
        }
    }

    @AfterEach
    void stop() {
        try {
            engine.cleanup();
        } catch (WsaException e) {
            // already cleaned up by the test
        }
        assertFalse(transport.loopsAlive(), "a selector thread outlived the final cleanup");
    }

    void startup() throws WsaException {
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
    }

    SocketHandle socket() throws WsaException {
        return engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
    }

    SocketHandle connectTo(InetSocketAddress peer) throws Exception {
        SocketHandle s = socket();
        EventHandle connected = new EventHandle() { };
        engine.eventSelect(s, connected, NetworkEvents.FD_CONNECT);
        if (engine.connect(s, peer, null) == ConnectStatus.IN_PROGRESS) {
            assertEquals(connected, upcalls.events.poll(10, TimeUnit.SECONDS));
            assertEquals(null, engine.enumNetworkEvents(s, connected).errorFor(NetworkEvents.FD_CONNECT_BIT));
        }
        return s;
    }

    OverlappedResult await(Overlapped ov) throws InterruptedException {
        OverlappedResult r = ov.awaitResult(20, TimeUnit.SECONDS);
        assertNotNull(r, "no completion for " + ov);
        return r;
    }

    @Test
    @io.sanswitch.testing.Checks("OV-poll")
    void bytesSentThroughTheEngineArriveUnchangedAtAPlainSocketAndBack() throws Exception {
        startup();
        try (ServerSocket plain = new ServerSocket(0, 5, LOOPBACK)) {
            SocketHandle s = connectTo((InetSocketAddress) plain.getLocalSocketAddress());
            try (Socket peer = plain.accept()) {
                Random random = new Random(7);
                for (int size : new int[] {1, 100, 65_536, 1 << 20, 16 << 20}) {
                    byte[] data = new byte[size];
                    random.nextBytes(data);
                    MemoryHandle m = engine.registerMemory(s, ByteBuffer.wrap(data), Winsock.MEM_READ);
                    Overlapped ov = Overlapped.notifying(size);
                    engine.send(s, new WsaBuf[] {WsaBuf.of(m)}, 0, ov);
                    byte[] got = new byte[size];
                    new DataInputStream(peer.getInputStream()).readFully(got);
                    assertArrayEquals(data, got, "no framing: the peer reads exactly what was sent");
                    assertEquals(size, await(ov).bytesTransferred());
                    engine.deregisterMemory(s, m);
                }
                // Back: a partial receive completes with what one read delivered.
                peer.getOutputStream().write("hello".getBytes());
                peer.getOutputStream().flush();
                ByteBuffer into = ByteBuffer.allocate(64);
                MemoryHandle r = engine.registerMemory(s, into, Winsock.MEM_WRITE);
                Overlapped ov = Overlapped.polling(null);
                engine.recv(s, new WsaBuf[] {WsaBuf.of(r)}, ov);
                OverlappedResult result = await(ov);
                assertEquals(5, result.bytesTransferred());
                assertEquals("hello", new String(into.array(), 0, 5));
                assertEquals(0, upcalls.counts.getOrDefault(ov, new AtomicInteger()).get(), "poll mode: no upcall");
            }
        }
    }

    @Test
    @io.sanswitch.testing.Checks({"EV-accept", "AC-condition"})
    void aPlainSocketConnectsToAnEngineListenerAcceptedThroughTheConditionFunction() throws Exception {
        startup();
        // The switch passes the address to bind and caches it (docs/rules.md BG-not-required: no getsockname on the SAN path),
        // so the test picks the port itself.
        int port = Ports.free(LOOPBACK);
        SocketHandle listener = socket();
        engine.bind(listener, new InetSocketAddress(LOOPBACK, port));
        engine.listen(listener, Winsock.SOMAXCONN);
        EventHandle acceptEvent = new EventHandle() { };
        engine.eventSelect(listener, acceptEvent, NetworkEvents.FD_ACCEPT);
        try (Socket plain = new Socket(LOOPBACK, port)) {
            assertEquals(acceptEvent, upcalls.events.poll(10, TimeUnit.SECONDS));
            AcceptedSocket a = engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
            ByteBuffer into = ByteBuffer.allocate(16);
            MemoryHandle m = engine.registerMemory(a.socket(), into, Winsock.MEM_WRITE);
            Overlapped ov = Overlapped.notifying(null);
            engine.recv(a.socket(), new WsaBuf[] {WsaBuf.of(m)}, ov);
            plain.getOutputStream().write(new byte[] {1, 2, 3});
            assertEquals(3, await(ov).bytesTransferred());
        }
    }

    @Test
    @io.sanswitch.testing.Checks({"LC-b", "LC-c", "SK-peer-reset", "LC-d", "LC-f"})
    void theFinalCleanupAbortsPendingOperationsResetsPeersAndFreesThePortAtOnce() throws Exception {
        startup();
        int sockets = 50;
        List<Overlapped> pending = new ArrayList<>();
        List<Socket> peers = new ArrayList<>();
        int port = Ports.free(LOOPBACK); // bound again by the engine after this server is closed
        try (ServerSocket plain = new ServerSocket(port, sockets, LOOPBACK)) {
            for (int i = 0; i < sockets; i++) {
                SocketHandle s = connectTo((InetSocketAddress) plain.getLocalSocketAddress());
                peers.add(plain.accept());
                for (int k = 0; k < 2; k++) {
                    MemoryHandle m = engine.registerMemory(s, ByteBuffer.allocate(32), Winsock.MEM_WRITE);
                    Overlapped ov = k == 0 ? Overlapped.notifying(null) : Overlapped.polling(null);
                    engine.recv(s, new WsaBuf[] {WsaBuf.of(m)}, ov);
                    pending.add(ov);
                }
            }
        }
        SocketHandle listener = socket();
        engine.bind(listener, new InetSocketAddress(LOOPBACK, port));
        engine.listen(listener, 8);

        engine.cleanup();

        for (Overlapped ov : pending) {
            assertEquals(WsaError.WSA_OPERATION_ABORTED, ov.result().error());
            int upcallsSeen = upcalls.counts.getOrDefault(ov, new AtomicInteger()).get();
            assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, upcallsSeen);
        }
        for (Socket peer : peers) {
            peer.setSoTimeout(10_000);
            InputStream in = peer.getInputStream();
            assertThrows(SocketException.class, in::read, "the peer sees a reset, not an orderly close");
            peer.close();
        }
        assertEquals(0, transport.openSockets());
        assertFalse(transport.loopsAlive());
        // Restartable at once, on the same port.
        startup();
        SocketHandle again = socket();
        engine.bind(again, new InetSocketAddress(LOOPBACK, port));
        engine.listen(again, 8);
        try (Socket plain = new Socket(LOOPBACK, port)) {
            assertTrue(plain.isConnected());
        }
    }

    @Test
    @io.sanswitch.testing.Checks("RD-extensions")
    void everyRdmaExtensionIsWsaEOpNotSuppOnPlainTcp() throws Exception {
        startup();
        try (ServerSocket plain = new ServerSocket(0, 5, LOOPBACK)) {
            SocketHandle s = connectTo((InetSocketAddress) plain.getLocalSocketAddress());
            for (SanExtension e : SanExtension.values()) {
                if (e == SanExtension.REGISTER_MEMORY || e == SanExtension.DEREGISTER_MEMORY) {
                    assertEquals(e, engine.getExtensionFunction(s, e.guid()));
                } else {
                    WsaException x = assertThrows(WsaException.class, () -> engine.getExtensionFunction(s, e.guid()));
                    assertEquals(WsaError.WSAEOPNOTSUPP, x.error(), e.name());
                }
            }
            WsaException x = assertThrows(WsaException.class,
                    () -> engine.registerRdmaMemory(s, ByteBuffer.allocateDirect(64), Winsock.MEM_WRITE));
            assertEquals(WsaError.WSAEOPNOTSUPP, x.error());
        }
    }

    @Test
    @io.sanswitch.testing.Checks({"SW-provider-codes", "EV-connect"})
    void connectingWhereNobodyListensReportsWsaEConnResetSoTheSwitchDoesNotFallBack() throws Exception {
        startup();
        // Below the ephemeral range: a port nobody's outgoing connection (not even this one's) takes.
        int port = Ports.free(LOOPBACK);
        SocketHandle s = socket();
        EventHandle ev = new EventHandle() { };
        engine.eventSelect(s, ev, NetworkEvents.FD_CONNECT);
        try {
            if (engine.connect(s, new InetSocketAddress(LOOPBACK, port), null) == ConnectStatus.IN_PROGRESS) {
                assertEquals(ev, upcalls.events.poll(10, TimeUnit.SECONDS));
                assertEquals(WsaError.WSAECONNRESET, engine.enumNetworkEvents(s, ev).errorFor(NetworkEvents.FD_CONNECT_BIT));
            }
        } catch (WsaException e) {
            assertEquals(WsaError.WSAECONNRESET, e.error());
        }
    }
}
