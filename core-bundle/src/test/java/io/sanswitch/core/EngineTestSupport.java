package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

import org.junit.jupiter.api.function.Executable;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/** Shared set-up of the engine unit tests: a scripted backend, a recording switch, an engine. */
abstract class EngineTestSupport {
    static final InetSocketAddress LOCAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7000);
    static final InetSocketAddress REMOTE = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7001);

    ScriptedTransport transport = new ScriptedTransport();
    RecordingSwitch upcalls = new RecordingSwitch(transport);
    ProviderEngine engine = newEngine(transport);

    static ProviderEngine newEngine(ScriptedTransport t) {
        return new ProviderEngine(t, EngineConfig.defaults(t.name()).withDrainTimeout(Duration.ofSeconds(5)));
    }

    void startup() throws WsaException {
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
    }

    SocketHandle newSocket() throws WsaException {
        return engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
    }

    /** A socket connected at once by the scripted backend. */
    SocketHandle connectedSocket() throws WsaException {
        SocketHandle s = newSocket();
        engine.bind(s, LOCAL);
        engine.connect(s, REMOTE, null);
        return s;
    }

    MemoryHandle register(SocketHandle s, int size) throws WsaException {
        return engine.registerMemory(s, ByteBuffer.allocate(size), Winsock.MEM_READWRITE);
    }

    /** Posts a receive into a fresh registration of its own. */
    Overlapped postRecv(SocketHandle s, Overlapped.Mode mode) throws WsaException {
        MemoryHandle m = register(s, 64);
        Overlapped ov = mode == Overlapped.Mode.NOTIFY ? Overlapped.notifying(null) : Overlapped.polling(null);
        engine.recv(s, new WsaBuf[] {WsaBuf.of(m)}, ov);
        return ov;
    }

    static void assertWsa(WsaError expected, Executable call) {
        WsaException e = assertThrows(WsaException.class, call);
        assertEquals(expected, e.error(), e.getMessage());
    }
}
