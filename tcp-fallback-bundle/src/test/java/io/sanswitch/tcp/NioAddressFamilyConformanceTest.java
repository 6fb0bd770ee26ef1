package io.sanswitch.tcp;

import io.sanswitch.conformance.AddressFamilyConformance;
import io.sanswitch.conformance.BackendUnderTest;

/** The kit's address families (docs/rules.md NS-ipv6) against the NIO transport. */
class NioAddressFamilyConformanceTest extends AddressFamilyConformance {
    @Override
    protected BackendUnderTest backend() {
        return NioBackend.INSTANCE;
    }
}
