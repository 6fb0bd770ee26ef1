package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * bnd generated the DS component (configured by PID io.sanswitch.rdma, registering the Transport
 * itself) and its Metatype description, and the manifest embeds JUCX with its JNI library
 * instead of importing it.
 */
class DeclarativeServicesMetadataTest {

    private static String read(String dir) throws Exception {
        Path folder = Path.of("target", "classes", dir);
        assertTrue(Files.isDirectory(folder), "bnd wrote nothing to " + folder.toAbsolutePath());
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    all.append(Files.readString(f));
                }
            }
        }
        return all.toString();
    }

    private static Attributes manifest() throws Exception {
        try (var in = Files.newInputStream(Path.of("target", "classes", "META-INF", "MANIFEST.MF"))) {
            return new Manifest(in).getMainAttributes();
        }
    }

    @Test
    void theComponentIsImmediateConfiguredByItsPidAndRegistersTheTransportItself() throws Exception {
        String ds = read("OSGI-INF");
        assertTrue(ds.contains("name=\"io.sanswitch.rdma.UcxTransportComponent\""), ds);
        assertTrue(ds.contains("configuration-pid=\"io.sanswitch.rdma\""), ds);
        assertTrue(ds.contains("immediate=\"true\""), ds);
        assertTrue(ds.contains("modified=\"modified\""), "subnet changes are applied in place: " + ds);
        // no <service>: the component decides itself whether UCX is there to register one
        assertFalse(ds.contains("<service"), ds);
        // activated with the raw properties, which the component checks itself (no annotation proxy to throw)
        assertTrue(ds.contains("init=\"2\"") && !ds.contains("<property "), ds);
    }

    @Test
    void metatypeDescribesEveryPropertyWithItsBounds() throws Exception {
        String metatype = read("OSGI-INF/metatype");
        assertTrue(metatype.contains("<Designate pid=\"io.sanswitch.rdma\">"), metatype);
        assertTrue(metatype.contains("<AD id=\"transports\" type=\"String\""), metatype);
        assertTrue(metatype.contains("<AD id=\"progressPolicy\" type=\"String\""), metatype);
        for (ProgressPolicy p : ProgressPolicy.values()) {
            assertTrue(metatype.contains("value=\"" + p.name() + "\""), p + " is no option in " + metatype);
        }
        assertTrue(metatype.contains("<AD id=\"sanSubnets\" type=\"String\" cardinality=\"2147483647\""), metatype);
        assertTrue(metatype.contains("<AD id=\"progressPolicy\" type=\"String\"") && metatype.contains("default=\"SPIN_BRIEFLY_THEN_WAKEUP\""), metatype);
        assertTrue(metatype.contains("<AD id=\"sharedKey\" type=\"Password\""), metatype);
        assertTrue(metatype.contains("<AD id=\"keyFile\" type=\"String\""), metatype);
        assertTrue(metatype.matches("(?s).*<AD id=\"handshakeTimeoutMillis\" type=\"Integer\"[^>]*min=\"100\" max=\"600000\" default=\"5000\".*"), metatype);
    }

    @Test
    void jucxAndTheJniLibrariesAreEmbeddedNotImportedAndNothingIsExported() throws Exception {
        Attributes m = manifest();
        assertEquals("io.sanswitch.rdma", m.getValue("Bundle-SymbolicName"));
        String imports = m.getValue("Import-Package");
        assertFalse(imports.contains("org.openucx"), imports);
        assertEquals(null, m.getValue("Export-Package"));
        String privates = m.getValue("Private-Package");
        for (String p : new String[] {"org.openucx.jucx", "org.openucx.jucx.ucp", "org.openucx.jucx.ucs"}) {
            assertTrue(privates.contains(p), p + " not embedded: " + privates);
        }
        String nativeCode = m.getValue("Bundle-NativeCode");
        assertTrue(nativeCode.startsWith("native/linux-x86_64/libjucx.so;native/linux-x86_64/libsanswitchucx.so;"
                + "osname=Linux;processor=x86-64"), nativeCode);
        assertTrue(nativeCode.endsWith(", *") || nativeCode.endsWith(",*"),
                "without the optional clause the bundle would not resolve off Linux x86-64: " + nativeCode);
        assertTrue(Files.isRegularFile(Path.of("target", "classes", "native", "linux-x86_64", "libjucx.so")));
        assertTrue(Files.isRegularFile(Path.of("target", "classes", "native", "linux-x86_64", "libsanswitchucx.so")));
        // At the root JUCX would find it as a resource and fail to extract it from a bundle: URL.
        assertFalse(Files.exists(Path.of("target", "classes", "libjucx.so")));
    }
}
