package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.sanswitch.testing.Configurations.props;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sanswitch.rdma.UcxTransportComponent.Settings;
import io.sanswitch.transport.TransportProperties;

/**
 * How a configuration of PID io.sanswitch.rdma becomes the transport's settings and service
 * properties: every value checked; a bad one is one line and the last good value (at activation:
 * the default) stays, never thrown at SCR; a bad subnet is left out.
 */
class ComponentSettingsTest {
    private static final String KEY = "correct horse battery staple";
    private final List<String> lines = new ArrayList<>();

    private Settings read(Object... keyValues) {
        return read(Settings.DEFAULTS, keyValues);
    }

    private Settings read(Settings lastGood, Object... keyValues) {
        return Settings.read(props(keyValues), lastGood, lines::add);
    }

    @Test
    void validConfigurationIsTakenAsItIs() {
        Settings s = read("transports", " tcp,self ", "progressPolicy", "busy_poll",
                "sanSubnets", new String[] {"192.168.10.0/24", "fd00::/64"}, "sharedKey", "  " + KEY + " ",
                "keyFile", "/etc/sanswitch/rdma.key", "handshakeTimeoutMillis", "250");
        assertEquals(List.of(), lines);
        assertEquals("tcp,self", s.transports());
        assertEquals(ProgressPolicy.BUSY_POLL, s.policy());
        assertEquals(List.of("192.168.10.0/24", "fd00:0:0:0:0:0:0:0/64"), s.sanSubnets());
        assertEquals(KEY, s.sharedKey());
        assertEquals("/etc/sanswitch/rdma.key", s.keyFile());
        assertEquals(Path.of("/etc/sanswitch/rdma.key"), s.keyPath());
        assertEquals(250, s.handshakeTimeoutMillis());
        assertEquals("ucx", s.serviceProperties().get(TransportProperties.TRANSPORT));
        assertArrayEquals(new String[] {"192.168.10.0/24", "fd00:0:0:0:0:0:0:0/64"},
                (String[]) s.serviceProperties().get(TransportProperties.SAN_SUBNETS));
        assertFalse(s.toString().contains(KEY), "settings are logged: " + s);
    }

    @Test
    void badSubnetsAreLeftOutEachWithOneLineAndOneStringMayCarryACommaSeparatedList() {
        Settings s = read("progressPolicy", "WAKEUP",
                "sanSubnets", new String[] {"10.1.0.0/16, 10.2.0.0/16", "nonsense", null, "10.1.9.9/16", "", "10/8"});
        assertEquals(List.of("10.1.0.0/16", "10.2.0.0/16"), s.sanSubnets());
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("io.sanswitch.rdma: sanSubnets: entry left out: 'nonsense'"), lines.get(0));
        assertTrue(lines.get(1).contains("'10/8'"), lines.get(1));
    }

    @Test
    void missingValuesAreTheDefaults() {
        Settings empty = Settings.read(null, Settings.DEFAULTS, lines::add);
        assertEquals(Settings.DEFAULTS, empty);
        assertEquals(ProgressPolicy.SPIN_BRIEFLY_THEN_WAKEUP, empty.policy());
        assertEquals("", empty.transports());
        assertEquals(List.of(), empty.sanSubnets());
        assertEquals("", empty.sharedKey());
        assertEquals("", empty.keyFile());
        assertEquals(Path.of(System.getProperty("user.home"), ".sanswitch", "rdma.key"), empty.keyPath());
        assertEquals(5000, empty.handshakeTimeoutMillis());
        assertArrayEquals(new String[0], (String[]) empty.serviceProperties().get(TransportProperties.SAN_SUBNETS));
        assertEquals(List.of(), lines);
        assertEquals("", read("keyFile", "   ").keyFile(), "blank is the default file");
        assertEquals(List.of(), lines);
    }

    @Test
    void everyBadValueIsOneLineAndTheLastGoodValueStays() {
        Settings last = read("transports", "tcp", "progressPolicy", "WAKEUP", "sharedKey", KEY,
                "keyFile", "/k", "handshakeTimeoutMillis", 900);
        assertEquals(List.of(), lines);
        Object[][] bad = {
            {"progressPolicy", "FAST", "one of [BUSY_POLL, WAKEUP, SPIN_THEN_WAKEUP, SPIN_BRIEFLY_THEN_WAKEUP]"},
            {"transports", "tcp; rm -rf /", "UCX_TLS"},
            {"transports", "x".repeat(257), "at most 256"},
            {"keyFile", "a\0b", "a file path"},
            {"keyFile", "/k".repeat(2049), "at most 4096"},
            {"handshakeTimeoutMillis", 99, "100 to 600000"},
            {"handshakeTimeoutMillis", 600_001, "100 to 600000"},
            {"handshakeTimeoutMillis", "abc", "100 to 600000"},
        };
        for (Object[] b : bad) {
            Settings s = read(last, b[0], b[1]);
            assertEquals(read(last, b[0], List.of(valueOf(last, (String) b[0]))), s, b[0] + "=" + b[1]);
            assertEquals(1, lines.size(), b[0] + ": " + lines);
            String line = lines.remove(0);
            assertTrue(line.startsWith("io.sanswitch.rdma: " + b[0] + " = "), line);
            assertTrue(line.contains((String) b[2]), line);
        }
    }

    private static Object valueOf(Settings s, String property) {
        return switch (property) {
            case "progressPolicy" -> s.policy().name();
            case "transports" -> s.transports();
            case "keyFile" -> s.keyFile();
            case "handshakeTimeoutMillis" -> s.handshakeTimeoutMillis();
            default -> throw new IllegalArgumentException(property);
        };
    }

    @Test
    void aTooShortSharedKeyIsRefusedWithoutShowingItOrTheKeyInForce() {
        Settings last = read("sharedKey", KEY);
        String shortKey = "fifteen-chars!!";
        assertEquals(15, shortKey.length());
        assertEquals(KEY, read(last, "sharedKey", "  " + shortKey + "  ").sharedKey());
        assertEquals(1, lines.size(), lines.toString());
        String line = lines.remove(0);
        assertTrue(line.startsWith("io.sanswitch.rdma: sharedKey (value hidden) has 15 characters, at least 16 are"
                + " needed"), line);
        assertFalse(line.contains(shortKey) || line.contains(KEY), line);
        assertEquals("", read("sharedKey", shortKey).sharedKey(), "at activation: none, so the key file");
        assertEquals(1, lines.size());
        assertEquals("", read(last, "sharedKey", "").sharedKey(), "empty: back to the key file");
        assertEquals("0123456789abcdef", read("sharedKey", "0123456789abcdef").sharedKey(), "16 are enough");
        assertEquals(1, lines.size(), lines.toString());
    }

    @Test
    void transportsPolicyKeyKeyFileAndHandshakeTimeoutRequireANewTransportSubnetsDoNot() {
        Settings a = read("transports", "tcp", "progressPolicy", "WAKEUP", "sanSubnets", "10.0.0.0/8");
        assertTrue(a.sameTransportAs(read("transports", "tcp", "progressPolicy", "WAKEUP", "sanSubnets", "192.168.0.0/16")));
        assertFalse(a.sameTransportAs(read("transports", "sm", "progressPolicy", "WAKEUP")));
        assertFalse(a.sameTransportAs(read("transports", "tcp", "progressPolicy", "BUSY_POLL")));
        assertFalse(a.sameTransportAs(read("transports", "tcp", "progressPolicy", "WAKEUP", "sharedKey", KEY)));
        assertFalse(a.sameTransportAs(read("transports", "tcp", "progressPolicy", "WAKEUP", "keyFile", "/k")));
        assertFalse(a.sameTransportAs(read("transports", "tcp", "progressPolicy", "WAKEUP", "handshakeTimeoutMillis", 6000)));
        assertFalse(a.sameTransportAs(null));
        assertEquals(List.of(), lines);
    }
}
