package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.sanswitch.testing.Configurations.props;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * PID io.sanswitch.tcp: every property is checked; a bad value is one line naming PID, property,
 * value and what is allowed, its default is used, and the component still activates.
 */
class TcpSettingsTest {
    private final List<String> lines = new ArrayList<>();

    @Test
    void goodValuesAreTakenAndAbsentOnesAreTheDefaults() {
        TcpSettings s = TcpSettings.read(props("threads", "4", "tcpNoDelay", "false", "receiveBufferBytes", 65536,
                "sendBufferBytes", 131072L, "networkCheckMillis", 50), lines::add);
        assertEquals(new TcpSettings(4, new NioSocket.Settings(false, 65536, 131072), 50), s);
        assertEquals(TcpSettings.DEFAULTS, TcpSettings.read(null, lines::add));
        assertEquals(TcpSettings.DEFAULTS, TcpSettings.read(props("service.pid", NioTransport.PID), lines::add));
        assertEquals(List.of(), lines);
    }

    @Test
    void everyBadValueIsOneLineAndTheDefaultIsUsed() {
        Object[][] bad = {
            {"threads", 0, "1 to 256"},
            {"threads", 257, "1 to 256"},
            {"threads", "abc", "1 to 256"},
            {"tcpNoDelay", "yes", "true or false"},
            {"receiveBufferBytes", -1, "0 to 67108864"},
            {"receiveBufferBytes", 67_108_865, "0 to 67108864"},
            {"sendBufferBytes", "1 MiB", "0 to 67108864"},
            {"networkCheckMillis", 0, "10 to 60000"},
            {"networkCheckMillis", 9, "10 to 60000"},
            {"networkCheckMillis", 60_001, "10 to 60000"},
        };
        for (Object[] b : bad) {
            assertEquals(TcpSettings.DEFAULTS, TcpSettings.read(props(b[0], b[1]), lines::add), b[0] + "=" + b[1]);
            assertEquals(1, lines.size(), lines.toString());
            String line = lines.remove(0);
            assertTrue(line.startsWith("io.sanswitch.tcp: " + b[0] + " = "), line);
            assertTrue(line.contains(String.valueOf(b[1])) && line.contains((String) b[2]), line);
        }
    }

    @Test
    void theComponentActivatesWhateverItsConfigurationSays() throws Exception {
        // Before, threads=0 failed the activation with an IllegalArgumentException.
        NioTransport t = new NioTransport(props("threads", 0, "networkCheckMillis", "abc", "receiveBufferBytes", -5,
                "tcpNoDelay", 3));
        t.open(null); // no socket will be opened: nothing to report to
        try {
            assertTrue(t.loopsAlive(), "selector threads run with the defaults");
        } finally {
            t.close();
        }
    }
}
