package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** san:route's HOST:PORT: literal addresses only, every refusal naming the text and what is wrong. */
class PeerArgumentTest {

    @Test
    void literalAddressesAndPortsAreRead() throws Exception {
        assertEquals(new InetSocketAddress(InetAddress.getByName("10.20.0.7"), 5000), PeerArgument.parse("10.20.0.7:5000"));
        assertEquals(new InetSocketAddress(InetAddress.getByName("fd00::7"), 1), PeerArgument.parse(" [fd00::7]:1 "));
        assertEquals(65535, PeerArgument.parse("127.0.0.1:65535").getPort());
    }

    /** Host names are refused before any lookup: a name that would hang in DNS returns at once. */
    @Test
    @Timeout(value = 2, unit = TimeUnit.SECONDS)
    void badInputIsRefusedWithAClearMessageAndNoNameIsLookedUp() {
        assertRefused("db.example.invalid:5000", "'db.example.invalid' is no literal IP address");
        assertRefused("localhost:5000", "san:route looks up no host names");
        assertRefused("10.0.0/8:1", "no literal IP address");
        assertRefused("010.0.0.1:1", "leading zero");
        assertRefused("10.0.0.1", "no port");
        assertRefused("10.0.0.1:0", "the port must be a number 1 to 65535, was 0");
        assertRefused("10.0.0.1:65536", "was 65536");
        assertRefused("10.0.0.1:99999999999", "was '99999999999'");
        assertRefused("10.0.0.1:-1", "was '-1'");
        assertRefused("fd00::7:5000", "an IPv6 address goes in brackets");
        assertRefused("[fd00::7]5000", "an IPv6 address goes in brackets");
        assertRefused("[fd00::g]:5000", "no literal IP address");
        assertRefused("", "no HOST:PORT given");
        assertRefused("1".repeat(100), "longer than 64 characters");
    }

    private static void assertRefused(String text, String part) {
        String m = assertThrows(IllegalArgumentException.class, () -> PeerArgument.parse(text)).getMessage();
        assertTrue(m.contains(part), "for '" + text + "': " + m);
    }
}
