package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.DataPathConformance;

/** The kit's data-path suite against the UCX transport. */
class UcxDataPathConformanceTest extends DataPathConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
