package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;

/** The manifest bnd generated for this bundle exports the API packages with their versions. */
class BundleManifestTest {

    @Test
    void apiBundleExportsSpiTransportAndApplicationApiWithVersions() throws Exception {
        Path file = Path.of("target", "classes", "META-INF", "MANIFEST.MF");
        assertTrue(Files.exists(file), "bnd-maven-plugin wrote no manifest at " + file.toAbsolutePath());
        Manifest manifest;
        try (InputStream in = Files.newInputStream(file)) {
            manifest = new Manifest(in);
        }
        String exports = manifest.getMainAttributes().getValue("Export-Package");
        assertTrue(exports != null && exports.contains("io.sanswitch.spi;version=\"2.1.0\""), exports);
        assertTrue(exports.contains("io.sanswitch.transport;version=\"1.5.0\""), exports);
        assertTrue(exports.contains("io.sanswitch.api;version=\"1.5.0\""), exports);
        assertTrue(exports.contains("io.sanswitch.config;version=\"1.0.0\""), exports);
        assertTrue("io.sanswitch.api".equals(manifest.getMainAttributes().getValue("Bundle-SymbolicName")));
    }
}
