package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
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
}
