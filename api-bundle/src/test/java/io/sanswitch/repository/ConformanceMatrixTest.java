package io.sanswitch.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Generates the conformance matrix (rule × engine, tcp, ucx, switch, Felix, Karaf) from
 * {@code docs/rules.md} and the tests' {@code @Checks}, writes it to
 * {@code api-bundle/target/conformance-matrix.md} and {@code .html}, and fails the build when a rule
 * has no test and is not marked {@code gap:}, when a test names an id the catalogue lacks, or when
 * {@code docs/conformance-matrix.md} or README.md's counts are not the current matrix's.
 * {@code -Dmatrix.update=true} writes the current ones there.
 */
class ConformanceMatrixTest {
    /** The start of README.md's line with the counts, which the build keeps current. */
    private static final String README_COUNTS = "The matrix as generated now: ";
    private final Path root = Repository.root();
    private final RuleCatalogue catalogue = RuleCatalogue.parse(Repository.read(root.resolve("docs/rules.md")));
    private final ConformanceMatrix matrix = new ConformanceMatrix(catalogue, CheckScanner.scan(root));

    @Test
    void everyRuleHasATestOrIsAMarkedGap() throws IOException {
        Path target = Path.of("target");
        Files.createDirectories(target);
        Files.writeString(target.resolve("conformance-matrix.md"), matrix.markdown());
        Files.writeString(target.resolve("conformance-matrix.html"), matrix.html());
        System.out.println("[matrix] " + matrix.summary() + " Written to " + target.toAbsolutePath());
        assertEquals(List.of(), matrix.missing(),
                "rules of docs/rules.md with no test: annotate a test that checks them with @Checks, or mark the row 'gap: <reason>'");
    }

    @Test
    void everyIdATestNamesIsInTheCatalogue() {
        assertEquals(List.of(), matrix.unknownIds(), "@Checks names ids docs/rules.md does not have");
    }

    @Test
    void theCatalogueHasUniqueIds() {
        assertTrue(catalogue.rules().size() > 50, "docs/rules.md parsed: " + catalogue.rules().size() + " rules");
        assertEquals(catalogue.rules().size(), catalogue.rules().stream().map(RuleCatalogue.Rule::id).distinct().count(),
                "each id once");
    }

    @Test
    void theReadmeStatesTheCurrentCounts() throws IOException {
        Path readme = root.resolve("README.md");
        String text = Files.readString(readme);
        String line = README_COUNTS + matrix.summary();
        if (Boolean.getBoolean("matrix.update")) {
            text = text.replaceFirst("(?m)^" + java.util.regex.Pattern.quote(README_COUNTS) + ".*$",
                    java.util.regex.Matcher.quoteReplacement(line));
            Files.writeString(readme, text);
        }
        assertTrue(text.lines().anyMatch(line::equals),
                "README.md's counts are not the current matrix's (" + line + "): -Dmatrix.update=true rewrites them");
    }

    @Test
    void theCopyInDocsIsCurrent() throws IOException {
        Path copy = root.resolve("docs/conformance-matrix.md");
        String current = matrix.markdown();
        if (Boolean.getBoolean("matrix.update")) {
            Files.writeString(copy, current);
        }
        assertEquals(current, Files.exists(copy) ? Files.readString(copy) : "",
                "docs/conformance-matrix.md is out of date: mvn -pl api-bundle test -Dtest=ConformanceMatrixTest -Dmatrix.update=true");
    }
}
