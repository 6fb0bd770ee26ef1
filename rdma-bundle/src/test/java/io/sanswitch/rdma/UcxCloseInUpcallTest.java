package io.sanswitch.rdma;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sanswitch.testing.Checks;

/**
 * {@code closeSocket} made from inside a completion upcall, on the UCX progress thread, while UCX
 * still queues sends of that socket on its shared-memory lane ({@link CloseInUpcallChild}, in a
 * child JVM: a UCX abort kills the process it happens in). UCX 1.13 aborts the process when an
 * endpoint is closed from inside the dispatch of that endpoint's pending queue (docs/toolchain.md
 * TC-23); the provider must keep the close out of the callback (docs/rules.md LC-reentrant-ucx).
 * Without that, the send variant aborted 8 of 10 child JVMs in their first round. The receive
 * variant (a receive completion comes from the lane's receive path, not from a pending queue) did
 * not abort without it (0 of 5 JVMs of 10 rounds); it checks the rest of the rule there: each
 * operation ends once, the closing side's with success or {@code WSA_OPERATION_ABORTED}, and UCX
 * holds no request of ours after the final cleanups. Rounds per child with
 * {@code -Ducx.closeInUpcall.rounds=N} (default 10), child JVMs with {@code -Ducx.closeInUpcall.runs=M}.
 */
class UcxCloseInUpcallTest {
    private static final String ROUNDS = "ucx.closeInUpcall.rounds";
    private static final String RUNS = "ucx.closeInUpcall.runs";

    @ParameterizedTest(name = "closeSocket in a {0} completion upcall")
    @ValueSource(strings = {"send", "recv"})
    @Checks("LC-reentrant-ucx")
    void closeSocketInsideACompletionUpcallLeavesTheProcessRunning(String upcall) throws Exception {
        Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available: " + Ucx.unavailabilityCause());
        String rounds = System.getProperty(ROUNDS, "10");
        int runs = Integer.getInteger(RUNS, 1);
        ChildJvm.Runs children = new ChildJvm.Runs();
        for (int run = 1; run <= runs; run++) {
            children.run(upcall + " run " + run, List.of("-Xmx512m", "-XX:MaxDirectMemorySize=1g",
                    "-DcloseInUpcall.at=" + Integer.getInteger("closeInUpcall.at", 4),
                    "-DcloseInUpcall.sends=" + Integer.getInteger("closeInUpcall.sends", 64)),
                    CloseInUpcallChild.class, rounds, List.of(upcall), Duration.ofMinutes(5),
                    lines -> lines.stream().filter(l -> l.startsWith("round") || l.startsWith("DONE")
                            || l.startsWith("outcomes") || l.contains("Assertion") || l.startsWith("FAILED")).toList());
        }
        children.assertNoneAborted(runs);
    }
}
