package io.sanswitch.itests;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

import io.sanswitch.itests.peer.CyclesPeer;

/**
 * The peer bundle for a child framework: the classes of package {@code io.sanswitch.itests.peer}, taken
 * from the test's own probe bundle, with a manifest written here (this module has no bnd, docs/toolchain.md TC-2).
 */
final class PeerBundle {
    static final String BSN = "io.sanswitch.itests.cyclespeer";
    private static final String PACKAGE = CyclesPeer.class.getPackageName().replace('.', '/');

    private PeerBundle() {
    }

    /** Writes the bundle to {@code target}. */
    static Path write(Path target) throws Exception {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", BSN);
        main.putValue("Bundle-Version", "1.0.0");
        main.putValue("Bundle-Activator", CyclesPeer.class.getName());
        main.putValue("Import-Package", "io.sanswitch.api,io.sanswitch.spi,org.osgi.framework,"
                + "org.osgi.service.cm,org.osgi.util.tracker");
        Bundle probe = FrameworkUtil.getBundle(PeerBundle.class);
        int classes = 0;
        try (OutputStream file = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(file, manifest)) {
            for (URL entry : Collections.list(probe.findEntries(PACKAGE, "*.class", false))) {
                String name = PACKAGE + entry.getPath().substring(entry.getPath().lastIndexOf('/'));
                jar.putNextEntry(new JarEntry(name));
                try (InputStream in = entry.openStream()) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
                classes++;
            }
        }
        if (classes == 0) {
            throw new IllegalStateException("no classes of " + PACKAGE + " in the probe bundle " + probe);
        }
        return target;
    }
}
