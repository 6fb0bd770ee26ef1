package io.sanswitch.rdma;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/**
 * A memory registration that gives up waiting for the UCX progress thread (docs/rules.md
 * RG-given-up) leaves nothing mapped, and the final cleanup after it leaves the process running
 * ({@link GivenUpRegistrationChild}, in a child JVM: a UCX abort kills the process it happens in).
 * Without the rule the queued registration mapped its memory once the progress thread went on,
 * nobody unmapped it, and {@code ucp_cleanup} aborted the JVM. Rounds per child with
 * {@code -Ducx.givenUpRegistration.rounds=N} (default 3).
 */
class UcxGivenUpRegistrationTest {

    @Test
    @Checks("RG-given-up")
    void aRegistrationThatGaveUpLeavesNothingMappedAndTheFinalCleanupLeavesTheProcessRunning() throws Exception {
        Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available: " + Ucx.unavailabilityCause());
        String rounds = System.getProperty("ucx.givenUpRegistration.rounds", "3");
        ChildJvm.Runs children = new ChildJvm.Runs();
        children.run("given-up registration", List.of("-Xmx256m"), GivenUpRegistrationChild.class, rounds, List.of(),
                Duration.ofMinutes(3), lines -> lines.stream().filter(l -> l.startsWith("round") || l.startsWith("DONE")
                        || l.startsWith("given up") || l.startsWith("regions") || l.startsWith("FAILED")).toList());
        children.assertNoneAborted(1);
    }
}
