package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.SocketOptionConformance;

/** The kit's socket options (docs/rules.md NS-options) against the UCX transport. */
class UcxSocketOptionConformanceTest extends SocketOptionConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
