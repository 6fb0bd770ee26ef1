package io.sanswitch.spi;

import java.net.InetSocketAddress;
import java.util.Objects;

/** What {@code accept} returns: the new socket's descriptor and the peer's address. */
public record AcceptedSocket(SocketHandle socket, InetSocketAddress peer) {
    public AcceptedSocket {
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(peer, "peer");
    }
}
