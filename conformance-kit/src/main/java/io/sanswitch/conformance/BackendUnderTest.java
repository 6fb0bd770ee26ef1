package io.sanswitch.conformance;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

import io.sanswitch.transport.Transport;

/**
 * What a backend hands the conformance kit: a way to make its {@link Transport} and what it
 * can do. The kit never runs on a fake transport: give it the real one.
 */
public interface BackendUnderTest {

    /** A short name for test output. */
    String name();

    /** A new, unopened transport. The kit makes two per test: one per side of a connection. */
    Transport newTransport();

    /** The local address the backend's sockets use in the tests (loopback for most). */
    default InetAddress address() {
        return InetAddress.getLoopbackAddress();
    }

    /**
     * Whether a connection refused by the listener's condition function fails the peer's
     * connect itself ({@code WSAECONNREFUSED} as FD_CONNECT). A plain-TCP backend cannot: the
     * kernel completes the handshake before the condition function runs, so its peer sees the
     * refusal as a reset: {@code WSAECONNREFUSED} as FD_CONNECT if the reset beats the connect's
     * report, else {@code WSAECONNRESET} on its first receive.
     */
    default boolean refusalFailsConnect() {
        return true;
    }

    /**
     * Environment for a JVM that runs this backend inside a network namespace of the kit's own
     * (the {@code WSAENETDOWN} case), e.g. to put UCX on its tcp lane over the namespace's link.
     *
     * @param link the name of the namespace's one link (the interface that holds its address)
     */
    default Map<String, String> namespaceEnvironment(String link) {
        return Map.of();
    }

    /**
     * Whether a provider of this backend starts inside the kit's namespace while its link is gone
     * (the {@code WSAENETDOWN} case restarts it after the final cleanup, docs/rules.md LC-f). A backend
     * whose {@link #namespaceEnvironment} names the link as its only device cannot start without it:
     * for such a backend the kit puts the link back first.
     */
    default boolean startsWithoutTheLink() {
        return true;
    }

    /**
     * The options the engine hands this backend and the backend keeps (docs/rules.md NS-options).
     * The kit holds every other backend option the SPI names to {@code WSAENOPROTOOPT}, so an
     * option kept but not declared here fails the kit as surely as one declared but not kept.
     */
    default List<KeptOption> keptOptions() {
        return List.of();
    }

    /**
     * Whether {@code socket(AF_INET6)} gives a working socket (the kit then runs a round trip over
     * {@code ::1}); without IPv6 it must fail with exactly {@code WSAEAFNOSUPPORT} (docs/rules.md NS-ipv6).
     */
    default boolean supportsIpv6() {
        return false;
    }
}
