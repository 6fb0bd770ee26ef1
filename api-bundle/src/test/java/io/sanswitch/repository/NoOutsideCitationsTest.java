package io.sanswitch.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Code, build files and the README cite only what is in the repository ({@code docs/rules.md LC-b},
 * {@code docs/toolchain.md TC-12}) or public by link: a reader of a fresh clone can follow every
 * citation. Documents that live elsewhere (the SPI notes, the design notes, the toolchain notes)
 * were cited by section number; those forms may not come back.
 */
class NoOutsideCitationsTest {
    private static final Path SELF = Path.of("io/sanswitch/repository/NoOutsideCitationsTest.java");

    /** Citation forms of documents outside the repository. */
    static final Pattern OUTSIDE = Pattern.compile(
            "\\bspec (?:section )?(?:[0-9]|Q[0-9])"   // "spec 6.2", "spec Q11"
                    + "|\\bTOOLCHAIN\\b"                // "TOOLCHAIN 12"
                    + "|\\b(?:DESIGN|STYLE)(?:\\.md)? ?§?[0-9]" // "DESIGN 2.3", "STYLE 2.4"
                    + "|§"                               // a section sign names an outside section
                    + "|\\.\\./shared|/work/|\\bseeds/");

    @Test
    void noSourceCitesADocumentOutsideTheRepository() {
        Path root = Repository.root();
        List<String> found = new ArrayList<>();
        for (Path file : Repository.files(root, ".java", "pom.xml", ".md", ".c", ".h", ".sh", ".bnd")) {
            if (file.endsWith(SELF)) {
                continue; // its patterns and examples are the forms themselves
            }
            String[] lines = Repository.read(file).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (OUTSIDE.matcher(lines[i]).find()) {
                    found.add(root.relativize(file) + ":" + (i + 1) + ": " + lines[i].strip());
                }
            }
        }
        assertEquals(List.of(), found, "cite docs/ (docs/rules.md <id>, docs/toolchain.md TC-n) instead:\n"
                + String.join("\n", found));
    }

    @Test
    void thePatternRecognisesEachOutsideForm() {
        for (String cited : List.of("(spec 6.2)", "spec Q11", "TOOLCHAIN 12", "DESIGN 2.3 b", "STYLE 2.4",
                "DESIGN.md §2", "../shared/spec", "spec section 7.1")) {
            assertEquals(true, OUTSIDE.matcher(cited).find(), cited);
        }
        for (String ours : List.of("docs/rules.md LC-b", "docs/toolchain.md TC-12", "javax.crypto.spec.SecretKeySpec",
                "the spec rows", "a seeded run")) {
            assertEquals(false, OUTSIDE.matcher(ours).find(), ours);
        }
    }
}
