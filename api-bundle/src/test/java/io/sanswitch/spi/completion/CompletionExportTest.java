package io.sanswitch.spi.completion;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;

/**
 * The api bundle's manifest (bnd writes it before the tests run) exports the completing side of
 * {@code Overlapped} only with its mandatory attribute and does not import it back; the Felix IT
 * {@code OverlappedCompleterExportIT} shows the framework enforcing it.
 */
class CompletionExportTest {

    @Test
    void theCompletingSideIsExportedOnlyToImportersNamingTheFriendAttribute() throws Exception {
        Manifest m;
        try (InputStream in = Files.newInputStream(Path.of("target", "classes", "META-INF", "MANIFEST.MF"))) {
            m = new Manifest(in);
        }
        String exports = m.getMainAttributes().getValue("Export-Package");
        String clause = clauseOf(exports, "io.sanswitch.spi.completion");
        assertTrue(clause.contains("sanswitch.friend=engine"), clause);
        assertTrue(clause.contains("mandatory:=\"sanswitch.friend\"") || clause.contains("mandatory:=sanswitch.friend"), clause);
        String imports = m.getMainAttributes().getValue("Import-Package");
        assertFalse(imports != null && imports.contains("io.sanswitch.spi.completion"),
                "an unattributed import of its own would not resolve: " + imports);
    }

    /** The clause of {@code pkg} in a manifest header (clauses split at commas outside quotes). */
    private static String clauseOf(String header, String pkg) {
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i <= header.length(); i++) {
            if (i == header.length() || header.charAt(i) == ',' && !quoted) {
                String clause = header.substring(start, i).trim();
                if (clause.startsWith(pkg + ";") || clause.equals(pkg)) {
                    return clause;
                }
                start = i + 1;
            } else if (header.charAt(i) == '"') {
                quoted = !quoted;
            }
        }
        throw new AssertionError(pkg + " not exported: " + header);
    }
}
