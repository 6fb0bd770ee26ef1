package io.sanswitch.rdma;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.transport.Transport;

/** The UCX transport as the conformance kit sees it. */
final class UcxBackend implements BackendUnderTest {
    static final UcxBackend INSTANCE = new UcxBackend();

    @Override
    public String name() {
        return "ucx";
    }

    @Override
    public Transport newTransport() {
        return new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "");
    }
}
