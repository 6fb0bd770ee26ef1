package io.sanswitch.tcp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KeptOption;
import io.sanswitch.spi.Winsock;
import io.sanswitch.transport.Transport;

/** The NIO transport as the conformance kit sees it. */
final class NioBackend implements BackendUnderTest {
    static final NioBackend INSTANCE = new NioBackend();

    @Override
    public String name() {
        return "tcp";
    }

    @Override
    public Transport newTransport() {
        return new NioTransport(2, true);
    }

    /** TCP completes the handshake before the condition function runs (BackendUnderTest). */
    @Override
    public boolean refusalFailsConnect() {
        return false;
    }

    /** NioSocket keeps TCP_NODELAY, before and after connecting. */
    @Override
    public List<KeptOption> keptOptions() {
        return List.of(KeptOption.settable("TCP_NODELAY", Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 0, 1, 0),
                KeptOption.size("SO_RCVBUF", Winsock.SOL_SOCKET, Winsock.SO_RCVBUF, 8192, 196608, 8192),
                KeptOption.size("SO_SNDBUF", Winsock.SOL_SOCKET, Winsock.SO_SNDBUF, 8192, 196608, 8192));
    }

    /**
     * Java's socket channels are dual-stack where the JVM has IPv6: judged here by whether a plain
     * server socket binds {@code ::1} (not with {@code -Djava.net.preferIPv4Stack=true}).
     */
    @Override
    public boolean supportsIpv6() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
