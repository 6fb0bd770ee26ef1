package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * bnd generated the DS component (a Transport service under PID io.sanswitch.tcp) and its
 * Metatype description into the bundle.
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

    @Test
    void theTransportIsADeclarativeServicesComponentConfiguredByItsPid() throws Exception {
        String ds = read("OSGI-INF");
        assertTrue(ds.contains("configuration-pid=\"io.sanswitch.tcp\""), ds);
        assertTrue(ds.contains("interface=\"io.sanswitch.transport.Transport\""), ds);
        assertTrue(ds.contains("<property name=\"sanswitch.transport\" type=\"String\" value=\"tcp\"/>"), ds);
        String metatype = read("OSGI-INF/metatype");
        for (String attribute : new String[] {"threads", "tcpNoDelay", "receiveBufferBytes", "sendBufferBytes", "networkCheckMillis"}) {
            assertTrue(metatype.contains("id=\"" + attribute + "\""), attribute + " missing in " + metatype);
        }
        assertTrue(metatype.contains("min=\"1\" max=\"256\" default=\"2\""), "the threads' range: " + metatype);
    }
}
