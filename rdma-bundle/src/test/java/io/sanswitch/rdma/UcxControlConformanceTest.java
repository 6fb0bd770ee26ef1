package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.ControlConformance;

/** The kit's control suite (address list, send completion order) against the UCX transport. */
class UcxControlConformanceTest extends ControlConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
