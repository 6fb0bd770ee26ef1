package io.sanswitch.tcp;

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
        return List.of(KeptOption.settable("TCP_NODELAY", Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 0, 1, 0));
    }

    /** Java's socket channels are dual-stack where the host has IPv6. */
    @Override
    public boolean supportsIpv6() {
        return true;
    }
}
