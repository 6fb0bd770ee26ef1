package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;

import org.junit.jupiter.api.Test;

class MemorySampleTest {
    private static final String STATUS = """
            Name:\tjava
            VmPeak:\t 8050000 kB
            VmRSS:\t  718848 kB
            RssAnon:\t  651264 kB
            RssFile:\t   63488 kB
            Threads:\t40
            """;

    @Test
    void readsTheKibFieldsOfProcStatusAsBytes() {
        assertEquals(718_848L * 1024, MemorySample.kibField(STATUS, "VmRSS:"));
        assertEquals(651_264L * 1024, MemorySample.kibField(STATUS, "RssAnon:"));
    }

    @Test
    void aMissingOrMalformedFieldIsUnknownNotAGuess() {
        assertEquals(-1, MemorySample.kibField(STATUS, "RssShmem:"));
        assertEquals(-1, MemorySample.kibField(STATUS, "Threads:"), "no kB unit");
        assertEquals(-1, MemorySample.kibField("VmRSS:\t-5 kB\n", "VmRSS:"));
        assertEquals(-1, MemorySample.kibField("VmRSS:\t12 MB\n", "VmRSS:"));
        assertEquals(-1, MemorySample.kibField("VmRSS:\t99999999999999999999 kB\n", "VmRSS:"), "more than a long");
        assertEquals(-1, MemorySample.kibField("VmRSS:\t1 2 kB\n", "VmRSS:"));
        assertEquals(-1, MemorySample.kibField("", "VmRSS:"));
    }

    @Test
    void onLinuxASampleHasTheResidentAndAnonymousBytesAndDirectBuffers() {
        assumeTrue(Files.isReadable(MemorySample.STATUS), "no /proc/self/status here");
        MemorySample s = MemorySample.now();
        assertTrue(s.residentBytes() > 0 && s.anonymousBytes() > 0 && s.anonymousBytes() <= s.residentBytes(), s.toString());
        assertTrue(s.directBytes() >= 0, s.toString());
    }
}
