package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * Address families (docs/rules.md NS-ipv6): IPv4 always works; IPv6 works end to end where the backend
 * declares it ({@link BackendUnderTest#supportsIpv6()}) and is otherwise exactly {@code WSAEAFNOSUPPORT};
 * a family the SPI does not name is {@code WSAEAFNOSUPPORT} everywhere.
 */
public abstract class AddressFamilyConformance extends KitTestBase {

    private static SocketHandle socket(KitProvider p, int family) throws WsaException {
        return p.engine.socket(family, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
    }

    @Test
    @Checks({"NS-ipv6", "ERR-socket"})
    void ipv4WorksIpv6AsDeclaredAndAFamilyTheSpiDoesNotNameIsWsaEAfNoSupport() throws Exception {
        a.startup();
        a.engine.closeSocket(socket(a, Winsock.AF_INET));

        if (backend().supportsIpv6()) {
            SocketHandle s = socket(a, Winsock.AF_INET6);
            a.engine.closeSocket(s);
        } else {
            WsaException e = assertThrows(WsaException.class, () -> socket(a, Winsock.AF_INET6),
                    backend().name() + " declares no IPv6, so socket(AF_INET6) must fail");
            assertEquals(WsaError.WSAEAFNOSUPPORT, e.error(), e.getMessage());
        }

        // AF_UNSPEC, Linux's number for IPv6 (Winsock's is 23), and numbers no family has.
        for (int family : new int[] {0, 10, Winsock.AF_INET6 + 1, -1, Integer.MAX_VALUE}) {
            WsaException e = assertThrows(WsaException.class, () -> socket(a, family), "family " + family);
            assertEquals(WsaError.WSAEAFNOSUPPORT, e.error(), "family " + family + ": " + e.getMessage());
        }
        assertEquals(0, a.engine.openSockets(), "no socket is left of the calls");
    }

    @Test
    @Checks("NS-ipv6")
    void whereIpv6IsDeclaredBytesCrossALoopbackConnectionOverIt() throws Exception {
        a.startup();
        b.startup();
        if (!backend().supportsIpv6()) {
            // The other case is the family test's: socket(AF_INET6) is WSAEAFNOSUPPORT before any address is used.
            WsaException e = assertThrows(WsaException.class, () -> socket(b, Winsock.AF_INET6));
            assertEquals(WsaError.WSAEAFNOSUPPORT, e.error(), e.getMessage());
            return;
        }
        InetAddress loopback6 = InetAddress.getByName("::1");
        assertTrue(loopback6 instanceof Inet6Address, "::1 is an IPv6 address");
        InetSocketAddress at = Ports.freeAddress(loopback6);

        SocketHandle listener = socket(b, Winsock.AF_INET6);
        b.engine.bind(listener, at);
        b.engine.listen(listener, 4);
        KitSwitch.Event accepts = new KitSwitch.Event();
        b.engine.eventSelect(listener, accepts, NetworkEvents.FD_ACCEPT);

        SocketHandle client = socket(a, Winsock.AF_INET6);
        KitSwitch.Event connected = new KitSwitch.Event();
        boolean done = a.startConnect(client, at, connected) == ConnectStatus.CONNECTED;
        AcceptedSocket server = b.accept(listener, accepts, ConditionDecision.CF_ACCEPT);
        assertEquals(loopback6, server.peer().getAddress(), "the accepted peer is the IPv6 loopback");
        if (!done) {
            assertTrue(connected.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "no FD_CONNECT");
            assertNull(a.engine.enumNetworkEvents(client, connected).errorFor(NetworkEvents.FD_CONNECT_BIT),
                    "connect to " + at);
        }

        byte[] there = "over ::1, there".getBytes(StandardCharsets.US_ASCII);
        byte[] back = "and back".getBytes(StandardCharsets.US_ASCII);
        a.send(client, there, Overlapped.Mode.NOTIFY);
        assertArrayEquals(there, b.receiveExactly(server.socket(), there.length, there.length));
        b.send(server.socket(), back, Overlapped.Mode.POLL);
        assertArrayEquals(back, a.receiveExactly(client, back.length, back.length));
    }
}
