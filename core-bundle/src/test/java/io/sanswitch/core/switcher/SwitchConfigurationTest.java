package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.sanswitch.testing.Configurations.props;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sanswitch.transport.Cidr;

/**
 * PID io.sanswitch.switch: every property is checked; a bad value is one line naming PID, property,
 * value and what is allowed, and the last good value (at activation: the default) stays. Found in
 * Karaf: {@code rdmaPortOffset=abc} threw out of {@code modified} and stopped the switch's activation.
 */
class SwitchConfigurationTest {
    private final List<String> lines = new ArrayList<>();

    private SwitchSettings read(SwitchSettings lastGood, Object... keyValues) {
        return SwitchSettings.read(props(keyValues), lastGood, lines::add);
    }

    /** Every property at a good value that is no default. */
    private static final Map<String, Object> GOOD = props("sanSubnets", new String[] {"10.20.0.0/16"},
            "rdmaFailureMemorySeconds", 5, "connectTimeoutMillis", "700", "rdmaThresholdBytes", 4096,
            "rdmaPortOffset", 9, "rdmaFlow", "write", "rdmaTransport", "ucx2", "tcpTransport", "nio",
            "ioThreads", 3, "closeTimeoutMillis", 1500L, "migrate", "false", "moveBack", false, "resumePort", 7001,
            "resumeTimeoutMillis", 900, "retentionBytes", 1 << 20, "ackEveryBytes", 65536);

    private SwitchSettings good() {
        SwitchSettings s = SwitchSettings.read(GOOD, SwitchSettings.defaults(), lines::add);
        assertEquals(List.of(), lines);
        return s;
    }

    @Test
    void goodValuesAreTakenAndAbsentOnesAreTheDefaults() {
        SwitchSettings s = good();
        assertEquals(List.of(Cidr.parse("10.20.0.0/16")), s.sanSubnets());
        assertEquals(Duration.ofSeconds(5), s.rdmaFailureMemory());
        assertEquals(Duration.ofMillis(700), s.connectTimeout());
        assertEquals(4096, s.rdmaThresholdBytes());
        assertEquals(9, s.rdmaPortOffset());
        assertTrue(s.forceWriteFlow());
        assertEquals("ucx2", s.rdmaTransport());
        assertEquals("nio", s.tcpTransport());
        assertEquals(3, s.ioThreads());
        assertEquals(Duration.ofMillis(1500), s.closeTimeout());
        assertEquals(new MigrationSettings(false, false, 7001, Duration.ofMillis(900), 1 << 20, 65536), s.migration());
        assertEquals(SwitchSettings.defaults(), read(s), "a property deleted is its default again");
        assertEquals(List.of(), lines);
    }

    @Test
    void everyBadValueIsOneLineAndTheLastGoodValueStays() {
        SwitchSettings last = good();
        Object[][] bad = {
            {"rdmaFailureMemorySeconds", "abc", "0 to 86400"},
            {"rdmaFailureMemorySeconds", -1, "0 to 86400"},
            {"rdmaFailureMemorySeconds", 86_401, "0 to 86400"},
            {"connectTimeoutMillis", 0, "1 to 600000"},
            {"connectTimeoutMillis", "1e3", "1 to 600000"},
            {"connectTimeoutMillis", 600_001, "1 to 600000"},
            {"rdmaThresholdBytes", -1, "0 to 1073741824"},
            {"rdmaThresholdBytes", 3_000_000_000L, "0 to 1073741824"},
            {"rdmaPortOffset", "abc", "1 to 65535"},
            {"rdmaPortOffset", 0, "1 to 65535"},
            {"rdmaPortOffset", 65_536, "1 to 65535"},
            {"rdmaPortOffset", "2.5", "1 to 65535"},
            {"rdmaFlow", "READ", "one of [AUTO, WRITE]"},
            {"rdmaTransport", " ", "a transport name"},
            {"rdmaTransport", "u c x", "a transport name"},
            {"tcpTransport", "tcp)(objectClass=*", "a transport name"},
            {"ioThreads", 0, "1 to 256"},
            {"ioThreads", 257, "1 to 256"},
            {"ioThreads", "two", "1 to 256"},
            {"closeTimeoutMillis", -5, "1 to 600000"},
            {"closeTimeoutMillis", "", "1 to 600000"},
            {"migrate", "yes", "true or false"},
            {"moveBack", 1, "true or false"},
            {"resumePort", 65_536, "0 to 65535"},
            {"resumePort", -1, "0 to 65535"},
            {"resumeTimeoutMillis", 0, "1 to 600000"},
            {"retentionBytes", 1000, "262144 to 1073741824"},
            {"ackEveryBytes", 2000, "4096 to 8388608"},
        };
        for (Object[] b : bad) {
            // Alone in the configuration, the bad value reads as its last good value did.
            SwitchSettings expected = read(last, b[0], GOOD.get(b[0]));
            assertEquals(expected, read(last, b[0], b[1]), b[0] + "=" + b[1]);
            assertEquals(1, lines.size(), b[0] + "=" + b[1] + ": " + lines);
            String line = lines.remove(0);
            assertTrue(line.startsWith("io.sanswitch.switch: " + b[0] + " = "), line);
            assertTrue(line.contains(String.valueOf(b[1])), "the value is named: " + line);
            assertTrue(line.contains((String) b[2]), "what is allowed is named: " + line);
        }
    }

    @Test
    void anAcknowledgementIntervalAboveHalfTheRetentionIsRefused() {
        SwitchSettings s = read(SwitchSettings.defaults(), "retentionBytes", 1 << 20, "ackEveryBytes", 600_000);
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("ackEveryBytes = 600000") && lines.get(0).contains("4096 to 524288"), lines.get(0));
        assertEquals(1 << 20, s.migration().retentionBytes());
        assertEquals(512 << 10, s.migration().ackEveryBytes(), "the default, bounded by half the retention");
    }

    @Test
    void subnetsThatAreNoCidrsAreLeftOutEachWithOneLine() {
        SwitchSettings s = read(SwitchSettings.defaults(), "sanSubnets", "10.20.0.0/16, 10/8 10.0.0.0/33,fd00::/8");
        assertEquals(List.of(Cidr.parse("10.20.0.0/16"), Cidr.parse("fd00::/8")), s.sanSubnets());
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("io.sanswitch.switch: sanSubnets: entry left out: '10/8'"), lines.get(0));
        assertTrue(lines.get(1).contains("'10.0.0.0/33'") && lines.get(1).contains("0 to 32"), lines.get(1));
    }

    @Test
    void aBadRdmaPortOffsetNeitherStopsTheSwitchNorChangesTheOffsetInForce() {
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        Switch sw = null;
        try {
            sw = new Switch(props("rdmaPortOffset", "abc"));
            assertEquals(SwitchSettings.defaults().rdmaPortOffset(), sw.settings().rdmaPortOffset(),
                    "activated with the default");
            sw.modified(props("rdmaPortOffset", 7));
            assertEquals(7, sw.settings().rdmaPortOffset());
            sw.modified(props("rdmaPortOffset", "abc"));
            assertEquals(7, sw.settings().rdmaPortOffset(), "the last good value stays");
            sw.modified(props("rdmaPortOffset", 70_000));
            assertEquals(7, sw.settings().rdmaPortOffset(), "the last good value stays");
        } finally {
            System.setErr(err);
            if (sw != null) {
                sw.deactivate();
            }
        }
        String text = log.toString(StandardCharsets.UTF_8);
        assertEquals(2, count(text, "io.sanswitch.switch: rdmaPortOffset = 'abc' refused (allowed: a whole number"
                + " from 1 to 65535); using "), text);
        assertEquals(1, count(text, "io.sanswitch.switch: rdmaPortOffset = 70000 refused (allowed: a whole number"
                + " from 1 to 65535); using 7"), text);
    }

    @Test
    void ioThreadsChangedWhileRunningWaitForTheNextActivation() {
        Switch sw = new Switch(props("ioThreads", 3));
        try {
            sw.modified(props("ioThreads", 5));
            assertEquals(3, sw.settings().ioThreads(), "the pool keeps its size until the switch is activated again");
        } finally {
            sw.deactivate();
        }
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void eachSettingSaysWhereItCameFrom() {
        ConfiguredSettings c = ConfiguredSettings.read(props("sanSubnets", "10.20.0.0/16, nonsense",
                "connectTimeoutMillis", "700", "rdmaPortOffset", "abc"), SwitchSettings.defaults(), lines::add);
        assertEquals("io.sanswitch.switch (entries left out, see the log)", c.sources().get("sanSubnets"));
        assertEquals("io.sanswitch.switch", c.sources().get("connectTimeoutMillis"));
        assertEquals("default (io.sanswitch.switch's value refused, see the log)", c.sources().get("rdmaPortOffset"));
        assertEquals("default", c.sources().get("closeTimeoutMillis"));
        assertEquals(ConfiguredSettings.PROPERTIES.size(), c.sources().size(), "a source for every property");
        assertEquals("10.20.0.0/16", ConfiguredSettings.values(c.settings()).get("sanSubnets"));
        assertEquals("700", ConfiguredSettings.values(c.settings()).get("connectTimeoutMillis"));
        assertEquals(2, lines.size(), "still logged: " + lines);

        ConfiguredSettings later = ConfiguredSettings.read(props("rdmaPortOffset", "-1"),
                SwitchSettings.defaults().withPortOffset(9), lines::add);
        assertEquals("the value before (io.sanswitch.switch's value refused, see the log)",
                later.sources().get("rdmaPortOffset"));
        assertEquals("9", ConfiguredSettings.values(later.settings()).get("rdmaPortOffset"));
    }
}
