package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sanswitch.rdma.UcxTransportComponent.Config;
import io.sanswitch.rdma.UcxTransportComponent.Settings;

/**
 * How a configuration of PID io.sanswitch.rdma becomes the transport's settings and service
 * properties: bad entries are left out or replaced by the default, never thrown at SCR.
 */
class ComponentSettingsTest {

    private static Config config(String transports, String policy, String... subnets) {
        return new Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return Config.class;
            }

            @Override
            public String transports() {
                return transports;
            }

            @Override
            public String progressPolicy() {
                return policy;
            }

            @Override
            public String[] sanSubnets() {
                return subnets;
            }
        };
    }

    @Test
    void validConfigurationIsTakenAsItIs() {
        Settings s = Settings.of(config(" tcp,self ", "busy_poll", "192.168.10.0/24", "fd00::/64"));
        assertEquals("tcp,self", s.transports());
        assertEquals(ProgressPolicy.BUSY_POLL, s.policy());
        assertEquals(List.of("192.168.10.0/24", "fd00:0:0:0:0:0:0:0/64"), s.sanSubnets());
        assertEquals("ucx", s.serviceProperties().get(UcxTransportComponent.TRANSPORT_PROPERTY));
        assertArrayEquals(new String[] {"192.168.10.0/24", "fd00:0:0:0:0:0:0:0/64"},
                (String[]) s.serviceProperties().get(UcxTransportComponent.SAN_SUBNETS_PROPERTY));
    }

    @Test
    void badSubnetsAreLeftOutAndOneStringMayCarryACommaSeparatedList() {
        Settings s = Settings.of(config("", "WAKEUP", "10.1.0.0/16, 10.2.0.0/16", "nonsense", null, "10.1.9.9/16", ""));
        assertEquals(List.of("10.1.0.0/16", "10.2.0.0/16"), s.sanSubnets());
    }

    @Test
    void anUnknownProgressPolicyFallsBackToSpinThenWakeupAndMissingValuesToTheDefaults() {
        assertEquals(ProgressPolicy.SPIN_THEN_WAKEUP, Settings.of(config("", "FAST")).policy());
        Settings empty = Settings.of(config(null, null, (String[]) null));
        assertEquals(ProgressPolicy.SPIN_THEN_WAKEUP, empty.policy());
        assertEquals("", empty.transports());
        assertEquals(List.of(), empty.sanSubnets());
        assertArrayEquals(new String[0], (String[]) empty.serviceProperties().get(UcxTransportComponent.SAN_SUBNETS_PROPERTY));
    }

    @Test
    void onlyTransportsAndPolicyRequireANewTransport() {
        Settings a = Settings.of(config("tcp", "WAKEUP", "10.0.0.0/8"));
        assertTrue(a.sameTransportAs(Settings.of(config("tcp", "WAKEUP", "192.168.0.0/16"))));
        assertFalse(a.sameTransportAs(Settings.of(config("sm", "WAKEUP", "10.0.0.0/8"))));
        assertFalse(a.sameTransportAs(Settings.of(config("tcp", "BUSY_POLL", "10.0.0.0/8"))));
        assertFalse(a.sameTransportAs(null));
    }
}
