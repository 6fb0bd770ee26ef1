package io.sanswitch.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The README's section "Using the switch from your bundle" shows the real example: its code block
 * must equal the source between the {@code tag::example[]} and {@code end::example[]} comments, and
 * its Maven dependency must name this build's version, so the README cannot drift from the code that
 * EchoExampleIT runs.
 */
class ReadmeExampleTest {
    static final String SOURCE = "example-bundle/src/main/java/io/sanswitch/example/EchoExample.java";
    /** The README line right before the code block. */
    static final String README_MARKER =
            "<!-- the source of " + SOURCE + " between tag::example[] and end::example[] -->";

    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void theReadmesCodeBlockIsTheExamplesSource() throws IOException {
        List<String> source = Files.readAllLines(ROOT.resolve(SOURCE));
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        List<String> expected = between(source, "// tag::example[]", "// end::example[]");
        List<String> actual = readmeBlockAfter(readme, README_MARKER);
        int line = firstDifference(expected, actual);
        assertEquals(-1, line, () -> "README.md's example differs from " + SOURCE + " at line " + (line + 1)
                + " of the region between the tags:\n  source: " + lineOrEnd(expected, line)
                + "\n  README: " + lineOrEnd(actual, line) + "\ncopy the region into the README");
    }

    @Test
    void theReadmesDependencyIsThisBuildsApiBundle() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String version = System.getProperty("sanswitch.version");
        assertTrue(version != null && !version.isEmpty(), "surefire passes sanswitch.version");
        String dependency = String.join("\n",
                "<dependency>",
                "  <groupId>io.sanswitch</groupId>",
                "  <artifactId>api-bundle</artifactId>",
                "  <version>" + version + "</version>",
                "  <scope>provided</scope>",
                "</dependency>");
        assertTrue(readme.contains(dependency), "README.md shows the dependency\n" + dependency);
    }

    /** The lines strictly between the first line equal (trimmed) to {@code start} and the next equal to {@code end}. */
    static List<String> between(List<String> lines, String start, String end) {
        int from = indexOf(lines, start, 0);
        int to = indexOf(lines, end, from + 1);
        return lines.subList(from + 1, to);
    }

    /** The ```java block that starts on the line after {@code marker}. */
    static List<String> readmeBlockAfter(List<String> readme, String marker) {
        int at = indexOf(readme, marker, 0);
        assertEquals("```java", readme.get(at + 1), "a ```java block follows the marker in README.md");
        return readme.subList(at + 2, indexOf(readme, "```", at + 2));
    }

    /** The index of the first line where {@code a} and {@code b} differ, -1 when they are equal. */
    static int firstDifference(List<String> a, List<String> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            if (i >= a.size() || i >= b.size() || !a.get(i).equals(b.get(i))) {
                return i;
            }
        }
        return -1;
    }

    private static String lineOrEnd(List<String> lines, int i) {
        return i < lines.size() ? lines.get(i) : "(end of the region)";
    }

    private static int indexOf(List<String> lines, String wanted, int from) {
        for (int i = from; i < lines.size(); i++) {
            if (lines.get(i).trim().equals(wanted)) {
                return i;
            }
        }
        throw new AssertionError("no line \"" + wanted + "\" from line " + (from + 1));
    }
}
