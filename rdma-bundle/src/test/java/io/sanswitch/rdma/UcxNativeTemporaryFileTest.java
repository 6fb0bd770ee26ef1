package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a plain class path the JNI library is extracted to a temporary file; a JVM that ends without its
 * exit hooks (killed, halted, crashed) must not leave that copy behind: one was left per such JVM
 * (hundreds had gathered in a build machine's /tmp from the tests that kill JVMs on purpose).
 */
class UcxNativeTemporaryFileTest {

    @Test
    void theExtractedLibraryIsGoneOnceLoadedEvenWhenTheJvmEndsWithoutItsExitHooks(@TempDir Path tmp) throws Exception {
        Path log = tmp.resolve("child.log");
        Path childTmp = Files.createDirectory(tmp.resolve("tmp"));
        ProcessBuilder pb = new ProcessBuilder(System.getProperty("java.home") + File.separator + "bin" + File.separator
                + "java", "-Djava.io.tmpdir=" + childTmp, "-cp", System.getProperty("java.class.path"),
                NativeLoadChild.class.getName()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("UCX_ERROR_SIGNALS", "");
        Process child = pb.start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM ended");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), output);
        assertTrue(output.contains("loaded true"), "the library loaded from its extracted copy:\n" + output);
        try (Stream<Path> left = Files.list(childTmp)) {
            List<String> ours = left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("libsanswitchucx"))
                    .toList();
            assertEquals(List.of(), ours, "extracted copies left in the child's temporary directory");
        }
    }
}
