package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** CIDR parsing for the SAN subnets of PID io.sanswitch.rdma: literals only, clear refusals. */
class SanSubnetTest {

    @Test
    void ipv4AndIpv6SubnetsAreParsedAndTheirHostBitsCleared() {
        assertEquals("192.168.10.0/24", SanSubnet.parse("192.168.10.0/24").toString());
        assertEquals("10.0.0.0/8", SanSubnet.parse(" 10.1.2.3/8 ").toString());
        assertEquals("0.0.0.0/0", SanSubnet.parse("172.16.5.4/0").toString());
        assertEquals("172.16.5.4/32", SanSubnet.parse("172.16.5.4/32").toString());
        assertEquals("10.1.2.0/23", SanSubnet.parse("10.1.3.7/23").toString());
        assertEquals("fd00:5a:0:0:0:0:0:0/64", SanSubnet.parse("FD00:5A::1/64").toString());
    }

    @Test
    void whatIsNoCidrIsRefusedWithTheReasonNeverLookedUp() {
        String[][] refused = {
            {"192.168.10.0", "no prefix length"},
            {"192.168.10.0/33", "prefix length must be 0 to 32"},
            {"fd00::/129", "prefix length must be 0 to 128"},
            {"192.168.10.0/-1", "prefix length must be 0 to 32"},
            {"192.168.10.0/x", "no numeric prefix length"},
            {"192.168.256.0/24", "256 is not an octet"},
            {"192.168.10/24", "not an IPv4 address"},
            {"192.168.10.0.1/24", "not an IPv4 address"},
            {"1e2.0.0.1/8", "not an IPv4 address"},
            {"san.example/24", "not an IPv4 address"},
            {"fe80::1%eth0/64", "not an IPv6 address"},
            {"gg::1/64", "not an IPv6 address"},
            {"1:2:3:4:5:6:7:8:9/64", "not an IPv6 address"},
            {"", "empty subnet"},
            {"   ", "empty subnet"},
            {null, "empty subnet"},
        };
        for (String[] r : refused) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SanSubnet.parse(r[0]), r[0]);
            assertTrue(e.getMessage().contains(r[1]), r[0] + " -> " + e.getMessage());
        }
    }
}
