package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/**
 * bnd generated the switch's DS component (service SocketSwitch, PID io.sanswitch.switch, a dynamic
 * greedy multiple reference to the providers) and its Metatype description.
 */
class SwitchComponentMetadataTest {

    @Test
    void theSwitchIsADynamicGreedyConsumerOfEveryProviderConfiguredByItsPid() throws Exception {
        String ds = Files.readString(Path.of("target", "classes", "OSGI-INF", "io.sanswitch.core.switcher.Switch.xml"));
        assertTrue(ds.contains("configuration-pid=\"io.sanswitch.switch\""), ds);
        assertTrue(ds.contains("<provide interface=\"io.sanswitch.api.SocketSwitch\"/>"), ds);
        assertTrue(ds.contains("<provide interface=\"io.sanswitch.core.switcher.view.SocketReasons\"/>"),
                "san:sockets asks the switch why each socket is on its provider: " + ds);
        assertTrue(ds.contains("interface=\"io.sanswitch.spi.SanServiceProvider\""), ds);
        assertTrue(ds.contains("cardinality=\"0..n\"") && ds.contains("policy=\"dynamic\"")
                && ds.contains("policy-option=\"greedy\""), ds);
        assertTrue(ds.contains("unbind=\"unbindProvider\"") && ds.contains("updated=\"updatedProvider\""), ds);
        assertTrue(ds.contains("modified=\"modified\""), "configuration changes apply in place: " + ds);
        String metatype = Files.readString(Path.of("target", "classes", "OSGI-INF", "metatype",
                "io.sanswitch.core.switcher.SwitchConfig.xml"));
        for (String attribute : new String[] {"sanSubnets", "rdmaFailureMemorySeconds", "connectTimeoutMillis",
            "rdmaThresholdBytes", "rdmaPortOffset", "rdmaFlow"}) {
            assertTrue(metatype.contains("id=\"" + attribute + "\""), attribute + " in " + metatype);
        }
        assertTrue(metatype.contains("pid=\"io.sanswitch.switch\""), metatype);
        assertTrue(metatype.contains("min=\"1\" max=\"65535\" default=\"1\""), "the port offset's range: " + metatype);
        assertTrue(metatype.matches("(?s).*<AD id=\"migrate\" type=\"Boolean\"[^>]*default=\"true\"/>.*"),
                "migrate is on by default (docs/migration.md): " + metatype);
        assertTrue(ds.contains("init=\"1\"") && !ds.contains("<property "),
                "activated with the raw properties, which the switch checks itself: " + ds);
    }
}
