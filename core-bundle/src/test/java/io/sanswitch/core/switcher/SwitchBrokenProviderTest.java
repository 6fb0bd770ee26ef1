package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportProperties;

/**
 * A provider that breaks the SPI where the switch opens a socket of its own (here: {@code socket()}
 * answers null) still binds: with migration on (the default) its resume port is the switch's first
 * socket on it, and its failure is a WARN line, not a failed bind (docs/rules.md SW-migrate-port).
 */
class SwitchBrokenProviderTest {

    @Test
    @Checks("SW-migrate-port")
    void aProviderWhoseSocketsAreNullStillBindsWithMigrationOn() {
        SanServiceProvider provider = (SanServiceProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getExtensionFunction" -> throw new WsaException(WsaError.WSAEOPNOTSUPP, "no extensions");
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "a provider with null sockets";
                    default -> method.getReturnType() == int.class ? 0 : null;
                });
        Switch sw = new Switch(SwitchSettings.defaults());
        try {
            assertTrue(sw.settings().migration().migrate(), "migration is on by default");
            sw.bindProvider(provider, Map.of(TransportProperties.TRANSPORT, "tcp"));
            assertEquals(List.of("tcp"), sw.providers());
            assertEquals(0, sw.resumePort(), "no resume port over it");
        } finally {
            sw.deactivate();
        }
    }
}
