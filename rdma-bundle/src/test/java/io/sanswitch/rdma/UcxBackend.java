package io.sanswitch.rdma;

import java.util.List;
import java.util.Map;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KeptOption;
import io.sanswitch.spi.Winsock;
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

    /** UCX over its tcp lane (a namespace has no other device); signals left to the JVM. */
    @Override
    public Map<String, String> namespaceEnvironment() {
        return Map.of("UCX_TLS", "tcp", "UCX_ERROR_SIGNALS", "");
    }

    /**
     * Measured with the kit's case: a receive pending over UCX's tcp lane was still pending 20 s
     * after its link was removed, and the final cleanup reported no failed network.
     */
    @Override
    public String linkLossUnnoticedBecause() {
        return "UcxTransport has no watch of the interfaces under its sockets (networkSubsystemFailed() is always "
                + "false) and a connection whose address went away keeps working over the kernel's local route; "
                + "a receive pending across the removed link was still pending after 20 s";
    }

    /** UCX sends at once: TCP_NODELAY reads 1, and a set is accepted so the switch's replay does not fail. */
    @Override
    public List<KeptOption> keptOptions() {
        return List.of(KeptOption.fixed("TCP_NODELAY", Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 1, 0, 1, 0));
    }

    /** UcxTransport speaks IPv4 only. */
    @Override
    public boolean supportsIpv6() {
        return false;
    }
}
