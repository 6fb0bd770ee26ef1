package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.EventConformance;

/** The kit's network-event suite against the NIO transport. */
class NioEventConformanceTest extends EventConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
