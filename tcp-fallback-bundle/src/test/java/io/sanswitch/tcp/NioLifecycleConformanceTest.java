package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.LifecycleConformance;

/** The kit's lifecycle suite against the NIO transport. */
class NioLifecycleConformanceTest extends LifecycleConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
