package io.sanswitch.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The project's one CIDR parser: literals only, strict, canonical; refusals name the value and the reason. */
class CidrTest {

    @Test
    void ipv4AndIpv6SubnetsAreParsedAndTheirHostBitsCleared() {
        assertEquals("192.168.10.0/24", Cidr.parse("192.168.10.0/24").toString());
        assertEquals("10.0.0.0/8", Cidr.parse(" 10.1.2.3/8 ").toString());
        assertEquals("0.0.0.0/0", Cidr.parse("172.16.5.4/0").toString());
        assertEquals("172.16.5.4/32", Cidr.parse("172.16.5.4/32").toString());
        assertEquals("10.1.2.0/23", Cidr.parse("10.1.3.7/23").toString());
        assertEquals("fd00:5a:0:0:0:0:0:0/64", Cidr.parse("FD00:5A::1/64").toString());
        assertEquals("0:0:0:0:0:0:0:1/128", Cidr.parse("::1/128").toString());
        assertEquals("0.0.0.0/0", Cidr.parse("0.0.0.0/0").toString());
        assertEquals(23, Cidr.parse("10.1.3.7/23").prefixLength());
        assertEquals(Cidr.parse("10.1.0.0/16"), Cidr.parse("10.1.9.9/16"));
    }

    @Test
    void subnetsMatchTheirFamilyAndPrefix() throws Exception {
        Cidr ten = Cidr.parse("10.1.2.3/16");
        assertTrue(ten.contains(InetAddress.getByName("10.1.255.1")));
        assertFalse(ten.contains(InetAddress.getByName("10.2.0.1")));
        assertFalse(ten.contains(InetAddress.getByName("::1")));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("8.8.8.8")));
        assertTrue(Cidr.parse("fd00::/8").contains(InetAddress.getByName("fd12::1")));
        assertFalse(Cidr.parse("fd00::/8").contains(InetAddress.getByName("10.0.0.1")));
    }

    @Test
    void whatIsNoStrictCidrIsRefusedNamingTheValueAndTheReasonNeverLookedUp() {
        String[][] refused = {
            // InetAddress reads "10" as 0.0.0.10 and "10.0.0" as 10.0.0.0: a subnet must say all four parts
            {"10/8", "not an IPv4 address"},
            {"10.0.0/8", "not an IPv4 address"},
            {"1.2.3.4.5/8", "not an IPv4 address"},
            {"not-a-cidr", "no prefix length"},
            {"10.0.0.0/33", "prefix length must be a number from 0 to 32"},
            {"fd00::/129", "prefix length must be a number from 0 to 128"},
            {"192.168.10.0/-1", "prefix length must be a number from 0 to 32"},
            {"192.168.10.0/+8", "prefix length must be a number from 0 to 32"},
            {"192.168.10.0/x", "prefix length must be a number from 0 to 32"},
            {"192.168.10.0/", "prefix length must be a number from 0 to 32"},
            {"192.168.10.0", "no prefix length"},
            {"192.168.256.0/24", "256 is not an octet"},
            {"010.0.0.0/8", "leading zero"},
            {"1e2.0.0.1/8", "not an IPv4 address"},
            {"0x0a.0.0.0/8", "not an IPv4 address"},
            {"localhost/8", "not an IPv4 address"},
            {"san.example/24", "not an IPv4 address"},
            {"host.example/8", "not an IPv4 address"},
            {"/8", "not an IPv4 address"},
            {"fe80::1%eth0/64", "not an IPv6 address"},
            {".::1/64", "not an IPv6 address"},
            {"gg::1/64", "not an IPv6 address"},
            {"1:2:3:4:5:6:7:8:9/64", "not an IPv6 address"},
            {"::ffff:10.0.0.0/104", "IPv4-mapped"},
            {"10.0.0.0/8/8", "prefix length"},
            {"", "empty subnet"},
            {"   ", "empty subnet"},
            {null, "empty subnet"},
        };
        for (String[] r : refused) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(r[0]), r[0]);
            assertTrue(e.getMessage().contains(r[1]), r[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().contains("'" + (r[0] == null || r[0].isBlank() ? r[0] : r[0].strip()) + "'"),
                    "the message names the value: " + e.getMessage());
        }
    }

    @Test
    void aHugeValueIsRefusedWithABoundedMessage() {
        String huge = "1".repeat(100_000) + "/8";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(huge));
        assertTrue(e.getMessage().length() < 200, e.getMessage());
        assertTrue(e.getMessage().contains("longer than"), e.getMessage());
    }

    @Test
    void parseAllSplitsEntriesLeavesOutAndReportsBadOnesAndDropsDuplicates() {
        List<String> bad = new ArrayList<>();
        List<Cidr> parsed = Cidr.parseAll(List.of("127.0.0.0/8, 192.168.0.0/24", "nonsense", "10/8",
                "10.0.0.0/33", "127.1.2.3/8", "host.example/8"), bad::add);
        assertEquals(List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("192.168.0.0/24")), parsed);
        assertEquals(4, bad.size(), bad.toString());
        assertTrue(bad.get(0).contains("'nonsense'"), bad.get(0));
        assertTrue(bad.get(1).contains("'10/8'"), bad.get(1));
        assertTrue(bad.get(2).contains("'10.0.0.0/33'"), bad.get(2));
        assertTrue(bad.get(3).contains("'host.example/8'"), bad.get(3));
        assertEquals(List.of(), Cidr.parseAll(null, bad::add));
    }
}
