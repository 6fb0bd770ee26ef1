package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.time.Duration;

import io.sanswitch.api.ProviderChoice.Reason;
import io.sanswitch.spi.WsaError;

/**
 * The connect decision of the switch (docs/rules.md SW-subnet, SW-certain), as pure functions so the whole table is
 * unit-tested without a provider.
 */
final class Route {
    private Route() {
    }

    /** Where a new connection goes first. */
    enum First {
        RDMA, TCP
    }

    /** The first attempt and, for TCP, why not RDMA. */
    record Plan(First first, Reason tcpReason, WsaError rememberedError) {
    }

    /**
     * @param onSanSubnet the peer's address is on a SAN subnet
     * @param rdmaProviderUp an RDMA-capable provider is bound and running
     * @param recentFailure the RDMA failure remembered for this peer, or {@code null}
     */
    static Plan plan(boolean onSanSubnet, boolean rdmaProviderUp, WsaError recentFailure) {
        if (!onSanSubnet) {
            return new Plan(First.TCP, Reason.NOT_ON_SAN_SUBNET, null);
        }
        if (!rdmaProviderUp) {
            return new Plan(First.TCP, Reason.RDMA_PROVIDER_DOWN, null);
        }
        if (recentFailure != null) {
            return new Plan(First.TCP, Reason.RECENT_RDMA_FAILURE, recentFailure);
        }
        return new Plan(First.RDMA, Reason.SAN_SUBNET, null);
    }

    /**
     * What a connect to a peer does first, as the switch's connect runs it and {@code san:route}
     * shows it.
     *
     * @param provider the provider of the first attempt; {@code null}: none is running, the connect
     *     fails with WSAENETDOWN
     * @param rdma the first attempt is the RDMA provider's (framed, falls back per docs/rules.md SW-certain)
     * @param target the address that attempt connects to (the RDMA port for RDMA)
     * @param reason for TCP, why not RDMA; for RDMA, {@link Reason#SAN_SUBNET}
     * @param remembered the recent RDMA failure behind {@link Reason#RECENT_RDMA_FAILURE}, else {@code null}
     * @param portOutOfRange the peer is a SAN peer but its port plus the RDMA port offset is no port
     */
    record Decision<P>(P provider, boolean rdma, InetSocketAddress target, Reason reason,
            FailureMemory.Remembered remembered, boolean portOutOfRange) {
    }

    /**
     * The connect decision, pure: the one rule of the switch's connect ({@code Connector}) and of
     * {@code san:route}, so that what the command says is what a connect does.
     *
     * @param rdma the running RDMA provider for new connections, or {@code null}
     * @param tcp the running TCP provider for new connections, or {@code null}
     * @param onSanSubnet the peer is on a SAN subnet (the switch's or {@code rdma}'s published ones)
     * @param recent the RDMA failure remembered for the peer, or {@code null}
     */
    static <P> Decision<P> decide(InetSocketAddress remote, int rdmaPortOffset, P rdma, P tcp, boolean onSanSubnet,
            FailureMemory.Remembered recent) {
        Plan plan = plan(onSanSubnet, rdma != null, rdma == null || recent == null ? null : recent.error());
        if (plan.first() == First.RDMA) {
            int port = remote.getPort() + rdmaPortOffset;
            if (port <= 0xFFFF) {
                return new Decision<>(rdma, true, new InetSocketAddress(remote.getAddress(), port), Reason.SAN_SUBNET,
                        null, false);
            }
            return new Decision<>(tcp, false, remote, Reason.RDMA_PROVIDER_DOWN, null, true);
        }
        return new Decision<>(tcp, false, remote, plan.tcpReason(),
                plan.tcpReason() == Reason.RECENT_RDMA_FAILURE ? recent : null, false);
    }

    /**
     * docs/rules.md SW-certain: after a failed SAN connect the switch retries over TCP, except for the three codes a
     * provider uses only when a TCP attempt is certain to fail as well.
     */
    static boolean fallsBackToTcp(WsaError rdmaConnectError) {
        return switch (rdmaConnectError) {
            case WSAECONNRESET, WSAECONNREFUSED, WSAEHOSTUNREACH -> false;
            default -> true;
        };
    }
}
