package io.sanswitch.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One provider as the demo uses it: its startup reference, the echo server's listening socket on
 * a loopback port, and new connections to it (client socket + the server's accepted socket).
 * Once a call says the provider is gone ({@code WSANOTINITIALISED}, an aborted operation) the side
 * is marked dead and clients fall back, as the switch will do.
 */
final class ProviderSide {
    static final long WAIT_MILLIS = 10_000;

    final String name;
    final long serviceId;
    final SanServiceProvider provider;
    private final DemoSwitch upcalls;
    private SocketHandle listener;
    private InetSocketAddress address;
    private volatile String deadBecause;

    ProviderSide(String name, long serviceId, SanServiceProvider provider, DemoSwitch upcalls) {
        this.name = name;
        this.serviceId = serviceId;
        this.provider = provider;
        this.upcalls = upcalls;
    }

    /** startupEx, then the echo server's listener on a free loopback port. */
    void open() throws WsaException, IOException {
        provider.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, upcalls);
        listener = newSocket();
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            address = new InetSocketAddress(InetAddress.getLoopbackAddress(), probe.getLocalPort());
        }
        provider.bind(listener, address);
        provider.listen(listener, 16);
    }

    InetSocketAddress address() {
        return address;
    }

    boolean isDead() {
        return deadBecause != null;
    }

    String deadBecause() {
        return deadBecause;
    }

    void markDead(String why) {
        if (deadBecause == null) {
            deadBecause = why;
        }
    }

    private SocketHandle newSocket() throws WsaException {
        return provider.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
    }

    /**
     * A new connection to the echo server: connect, then accept on the listener. Serialised, so
     * that each client accepts its own connection.
     */
    synchronized SocketHandle[] connect() throws WsaException, InterruptedException {
        DemoSwitch.Signal acceptable = new DemoSwitch.Signal();
        provider.eventSelect(listener, acceptable, NetworkEvents.FD_ACCEPT);
        SocketHandle client = newSocket();
        DemoSwitch.Signal connected = new DemoSwitch.Signal();
        provider.eventSelect(client, connected, NetworkEvents.FD_CONNECT);
        boolean now = provider.connect(client, address, null) == ConnectStatus.CONNECTED;
        AcceptedSocket accepted = null;
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        while (accepted == null) {
            try {
                accepted = provider.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEWOULDBLOCK || System.nanoTime() > deadline) {
                    throw e;
                }
                acceptable.await(100);
            }
        }
        if (!now) {
            if (!connected.await(WAIT_MILLIS)) {
                throw new WsaException(WsaError.WSAETIMEDOUT, "no FD_CONNECT from " + name);
            }
            WsaError error = provider.enumNetworkEvents(client, connected).errorFor(NetworkEvents.FD_CONNECT_BIT);
            if (error != null) {
                throw new WsaException(error, "connect to the echo server over " + name);
            }
        }
        return new SocketHandle[] {client, accepted.socket()};
    }

    /** Closes the listener and gives back the startup; a provider already cleaned up is fine. */
    void close() {
        try {
            provider.closeSocket(listener);
        } catch (WsaException | RuntimeException e) {
            // gone with the provider's final cleanup
        }
        try {
            provider.cleanup();
        } catch (WsaException | RuntimeException e) {
            // WSANOTINITIALISED: the bundle stop already ran the final cleanup
        }
    }
}
