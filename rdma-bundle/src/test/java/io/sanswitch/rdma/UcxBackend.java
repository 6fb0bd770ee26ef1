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

    /**
     * UCX over its tcp lane on the namespace's link only (no shared memory, no loopback device: the
     * lane must go over the link the kit removes); signals left to the JVM.
     */
    @Override
    public Map<String, String> namespaceEnvironment(String link) {
        return Map.of("UCX_TLS", "tcp", "UCX_NET_DEVICES", link, "UCX_ERROR_SIGNALS", "");
    }

    /** With its one device gone UCX has no transport to start with ({@code no usable transports/devices}). */
    @Override
    public boolean startsWithoutTheLink() {
        return false;
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
