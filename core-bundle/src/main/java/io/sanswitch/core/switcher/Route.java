package io.sanswitch.core.switcher;

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
