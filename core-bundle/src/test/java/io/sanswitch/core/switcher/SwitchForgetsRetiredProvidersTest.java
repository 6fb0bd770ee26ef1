package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sanswitch.core.Collected;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.ScriptedProvider;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportProperties;

/**
 * docs/rules.md LC-revision: once a provider is withdrawn and its last socket gone, the switch keeps no
 * reference to it (its engine references the backend bundle's transport, so the retired bundle
 * revision), also when nobody asks the switch for its statistics.
 */
class SwitchForgetsRetiredProvidersTest {

    @Test
    @Checks("LC-revision")
    void aWithdrawnProviderIsNotReachableFromTheSwitch() throws Exception {
        Switch sw = new Switch(SwitchSettings.defaults());
        try {
            WeakReference<ProviderEngine> engine = bindAndWithdraw(sw);
            assertTrue(Collected.within(engine, 20), "the switch still holds the withdrawn provider's engine");
            assertEquals(Map.of(), sw.statistics().providerSockets(), "no provider left in the statistics");
        } finally {
            sw.deactivate();
        }
    }

    /**
     * The same with {@code migrate} on: the resume port is a listener of the switch's own, pinned to
     * the provider's name (it rejoins the next provider of that name), and must not keep the one withdrawn.
     */
    @Test
    @Checks("LC-revision")
    void aWithdrawnProviderIsNotReachableFromAMigratingSwitch() throws Exception {
        Switch sw = new Switch(SwitchSettings.defaults().withMigration(MigrationSettings.defaults().withMigrate(true)));
        try {
            WeakReference<ProviderEngine> engine = bindAndWithdraw(sw);
            assertTrue(Collected.within(engine, 20), "the switch still holds the withdrawn provider's engine");
        } finally {
            sw.deactivate();
        }
    }

    /** In a method of its own: no local of the test keeps the provider. */
    private static WeakReference<ProviderEngine> bindAndWithdraw(Switch sw) {
        ScriptedProvider p = new ScriptedProvider("scripted");
        sw.bindProvider(p.engine(), Map.of(TransportProperties.TRANSPORT, "scripted"));
        assertTrue(sw.providers().contains("scripted"), "bound: " + sw.providers());
        sw.unbindProvider(p.engine());
        return new WeakReference<>(p.engine());
    }
}
