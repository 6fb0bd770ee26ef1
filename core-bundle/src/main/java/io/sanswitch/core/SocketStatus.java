package io.sanswitch.core;

import java.net.InetSocketAddress;

/**
 * One open socket of a provider, for {@code san:sockets}.
 *
 * @param provider the backend's name
 * @param handle the engine's descriptor text ({@code socket#<generation>.<serial>})
 * @param switchHandle the switch's handle for it (from {@code createSocketHandle}), or -1
 * @param role UNBOUND, BOUND, LISTENING, CONNECTING or CONNECTED
 * @param local the bound local address, or {@code null} where the backend does not know it
 * @param peer the address connected to or accepted from, or {@code null}
 * @param bytesIn bytes delivered by completed receives and RDMA reads
 * @param bytesOut bytes reported sent by completed sends and RDMA writes
 * @param pendingOperations operations posted and not completed
 */
public record SocketStatus(String provider, String handle, long switchHandle, String role, InetSocketAddress local,
        InetSocketAddress peer, long bytesIn, long bytesOut, int pendingOperations) {
}
