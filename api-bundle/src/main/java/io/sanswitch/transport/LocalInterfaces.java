package io.sanswitch.transport;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The host's interface addresses as every backend reads them: those of interfaces that are up. Here
 * because the backends are separate bundles that share only exported code, and {@link
 * Transport#localAddresses()} ({@code SIO_ADDRESS_LIST_QUERY}) must answer the same way for each.
 */
public final class LocalInterfaces {
    private LocalInterfaces() {
    }

    /** The addresses of the interfaces that are up, in the order the system lists them, each once. */
    public static Set<InetAddress> upAddresses() throws SocketException {
        Set<InetAddress> up = new LinkedHashSet<>();
        for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (ni.isUp()) {
                up.addAll(Collections.list(ni.getInetAddresses()));
            }
        }
        return up;
    }

    /**
     * Whether {@code local}, a socket's local address, sits on an interface that is up, by a listing
     * of {@link #upAddresses()}: a socket for which this is false has lost its network ({@code
     * WSAENETDOWN}). The wildcard address is always up. Every address of 127.0.0.0/8 (and ::1) is the
     * loopback interface's on Linux, though only 127.0.0.1 is listed: such an address is up while a
     * loopback address of its family is (a socket on 127.0.0.3 was taken for one whose interface was
     * gone).
     */
    public static boolean isUp(InetAddress local, Set<InetAddress> up) {
        if (local.isAnyLocalAddress() || up.contains(local)) {
            return true;
        }
        return local.isLoopbackAddress() && up.stream().anyMatch(a -> a.isLoopbackAddress()
                && a.getAddress().length == local.getAddress().length);
    }

    /**
     * The backend's network watch (docs/rules.md LC-e), one place for every backend: of
     * {@code sockets}, those whose local address ({@code localAddress}; {@code null}: none yet) no
     * longer sits on an interface that is up. The interfaces are listed once per call, and not at all
     * when there is no socket.
     *
     * @throws SocketException the interfaces cannot be listed (nothing can be told this time)
     */
    public static <S> List<S> offline(java.util.Collection<S> sockets,
            java.util.function.Function<? super S, InetAddress> localAddress) throws SocketException {
        if (sockets.isEmpty()) {
            return List.of();
        }
        Set<InetAddress> up = upAddresses();
        List<S> lost = new ArrayList<>();
        for (S s : sockets) {
            InetAddress local = localAddress.apply(s);
            if (local != null && !isUp(local, up)) {
                lost.add(s);
            }
        }
        return lost;
    }

    /**
     * {@link #upAddresses()} as {@link Transport#localAddresses()} answers.
     *
     * @throws WsaException {@code WSAENETDOWN} when the interfaces cannot be listed
     */
    public static List<InetAddress> forAddressListQuery() throws WsaException {
        try {
            return new ArrayList<>(upAddresses());
        } catch (SocketException e) {
            throw new WsaException(WsaError.WSAENETDOWN, "cannot list interfaces: " + e.getMessage(), e);
        }
    }
}
