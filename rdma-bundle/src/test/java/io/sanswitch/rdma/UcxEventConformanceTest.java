package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.EventConformance;

/** The kit's network-event suite against the UCX transport. */
class UcxEventConformanceTest extends EventConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
