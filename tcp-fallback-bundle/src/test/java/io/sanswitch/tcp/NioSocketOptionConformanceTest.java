package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.SocketOptionConformance;

/** The kit's socket options (docs/rules.md NS-options) against the NIO transport. */
class NioSocketOptionConformanceTest extends SocketOptionConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
