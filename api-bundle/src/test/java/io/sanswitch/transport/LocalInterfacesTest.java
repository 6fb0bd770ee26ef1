package io.sanswitch.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The interface test every backend's network watch makes of a socket's local address. */
class LocalInterfacesTest {
    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void anAddressIsUpOnlyWhileAnUpInterfaceListsIt() throws Exception {
        Set<InetAddress> up = Set.of(ip("127.0.0.1"), ip("10.254.78.1"));
        assertTrue(LocalInterfaces.isUp(ip("10.254.78.1"), up));
        assertFalse(LocalInterfaces.isUp(ip("10.254.78.2"), up), "an address no interface holds any more");
        assertFalse(LocalInterfaces.isUp(ip("10.254.78.1"), Set.of(ip("127.0.0.1"))), "its interface went away");
    }

    @Test
    void theWildcardIsAlwaysUpAndAllOfLoopbackWhileLoopbackIs() throws Exception {
        assertTrue(LocalInterfaces.isUp(ip("0.0.0.0"), Set.of()), "a wildcard socket has no interface to lose");
        assertTrue(LocalInterfaces.isUp(ip("127.0.0.3"), Set.of(ip("127.0.0.1"))), "127.0.0.0/8 is loopback's");
        assertFalse(LocalInterfaces.isUp(ip("127.0.0.3"), Set.of(ip("10.254.78.1"))), "loopback is down");
        assertFalse(LocalInterfaces.isUp(ip("::1"), Set.of(ip("127.0.0.1"))), "the IPv6 loopback needs its own family");
    }
}
