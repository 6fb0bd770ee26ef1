package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;

import org.junit.jupiter.api.Test;

/**
 * The network check takes every loopback address for up while loopback is: Linux lists only
 * 127.0.0.1 on {@code lo}, but all of 127.0.0.0/8 is its. A socket on 127.0.0.3 made the check
 * declare the network subsystem failed (WSAENETDOWN for the whole provider) under load in
 * SwitchHotSwapIT.
 */
class LoopbackIsUpTest {
    @Test
    void everyLoopbackAddressIsUpAndAnAddressOfNoInterfaceIsNot() throws Exception {
        NioTransport transport = new NioTransport(1, true);
        assertTrue(transport.isUp(InetAddress.getByName("127.0.0.1")));
        assertTrue(transport.isUp(InetAddress.getByName("127.0.0.3")), "127.0.0.3 is loopback's");
        assertTrue(transport.isUp(InetAddress.getByName("127.255.1.2")), "127.255.1.2 is loopback's");
        assertFalse(transport.isUp(InetAddress.getByName("192.0.2.1")), "TEST-NET-1 is on no interface here");
    }
}
