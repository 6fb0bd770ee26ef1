package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Which package of the core may use which, read from the compiled classes' constant pools (a class
 * names every class it refers to there): the switch is an SPI client that does not know the shell,
 * and the shell reads engines through {@link EngineDiagnostics}, never as {@link ProviderEngine}.
 */
class PackageDependenciesTest {
    /** The engine class itself (not a nested class of it), as a constant pool names it. */
    private static final Pattern ENGINE_CLASS = Pattern.compile("io/sanswitch/core/ProviderEngine(?![A-Za-z0-9_$])");
    private static final Path CLASSES = Path.of("target", "classes", "io", "sanswitch", "core");

    @Test
    void theSwitchDoesNotDependOnTheShell() throws IOException {
        assertEquals(List.of(), classesOf("switcher").filter(c -> refersTo(c, "io/sanswitch/core/shell/")).toList());
    }

    @Test
    void theShellAndTheMBeansNeverCastAProviderToTheEngineClass() throws IOException {
        List<Path> users = Stream.concat(classesOf("shell"), classesOf("management"))
                .filter(c -> ENGINE_CLASS.matcher(text(c)).find()).toList();
        assertEquals(List.of(), users);
        assertFalse(classesOf("shell").toList().isEmpty(), "the shell's classes were found");
    }

    private static Stream<Path> classesOf(String pkg) throws IOException {
        try (Stream<Path> files = Files.walk(CLASSES.resolve(pkg))) {
            return files.filter(f -> f.toString().endsWith(".class")).toList().stream();
        }
    }

    private static boolean refersTo(Path classFile, String name) {
        return text(classFile).contains(name);
    }

    private static String text(Path classFile) {
        try {
            return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new IllegalStateException(classFile.toString(), e);
        }
    }
}
