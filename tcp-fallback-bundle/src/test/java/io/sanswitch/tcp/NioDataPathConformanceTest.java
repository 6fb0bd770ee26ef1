package io.sanswitch.tcp;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.DataPathConformance;

/** The kit's data-path suite against the NIO transport. */
class NioDataPathConformanceTest extends DataPathConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
