package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportProperties;

/**
 * The switch judges a provider's notification gate from the SPI alone (docs/rules.md LC-a): it knows
 * the gate closed when its own {@code cleanup} call returned, and infers nothing from which thread
 * an upcall comes on.
 */
class SwitchCleanupGateTest {

    @Test
    @Checks("LC-a")
    void anUpcallOnTheCleaningThreadIsNoSignAndAnEventAfterTheCleanupReturnedIsCounted() throws Exception {
        AtomicReference<UpcallTable> table = new AtomicReference<>();
        EventHandle someEvent = new EventHandle() {
        };
        // A provider whose cleanup (not its final one: another holder keeps it) completes one of the
        // switch's operations on the calling thread, then signals an event it may still signal.
        SanServiceProvider provider = (SanServiceProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "startupEx":
                            table.set((UpcallTable) args[2]);
                            return null;
                        case "getExtensionFunction":
                            throw new WsaException(WsaError.WSAEOPNOTSUPP, "no extensions");
                        case "cleanup":
                            table.get().completeOverlappedRequest(1, Overlapped.notifying(null),
                                    OverlappedResult.failure(WsaError.WSAECONNRESET, 0));
                            table.get().setEvent(someEvent);
                            return null;
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        case "toString":
                            return "a scripted provider";
                        default:
                            return method.getReturnType() == int.class ? 0 : null;
                    }
                });
        // This provider makes no sockets (socket() answers null): without migration, whose resume ports
        // would be its sockets (docs/rules.md SW-migrate-port).
        Switch sw = new Switch(MigrationOff.of(SwitchSettings.defaults()));
        try {
            sw.bindProvider(provider, Map.of(TransportProperties.TRANSPORT, "scripted"));
            assertNotNull(table.get(), "started with the switch's table");
            sw.unbindProvider(provider);
            assertEquals(0, sw.statistics().eventsDuringCleanup(),
                    "during the switch's cleanup call the gate is not known closed: the event is dropped, not counted");
            table.get().setEvent(someEvent);
            assertEquals(1, sw.statistics().eventsDuringCleanup(), "after the cleanup call returned, an event breaks LC-a");
        } finally {
            sw.deactivate();
        }
    }
}
