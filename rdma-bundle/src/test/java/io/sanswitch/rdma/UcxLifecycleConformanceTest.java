package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.LifecycleConformance;

/** The kit's lifecycle suite against the UCX transport. */
class UcxLifecycleConformanceTest extends LifecycleConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
