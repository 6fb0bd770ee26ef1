package io.sanswitch.rdma;

import io.sanswitch.conformance.AddressFamilyConformance;
import io.sanswitch.conformance.BackendUnderTest;

/** The kit's address families (docs/rules.md NS-ipv6) against the UCX transport. */
class UcxAddressFamilyConformanceTest extends AddressFamilyConformance {
    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }
}
