package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.ControlConformance;

/** The kit's control suite (address list, send completion order) against the NIO transport. */
class NioControlConformanceTest extends ControlConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
