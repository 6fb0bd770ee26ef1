package io.sanswitch.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.sanswitch.repository.CheckScanner.Column;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the matrix reads the catalogue and places tests; the generator's own rules. */
class RuleCatalogueTest {
    @Test
    void onlyRowsOfRuleTablesAreRulesAndAGapNoteIsRead() {
        RuleCatalogue c = RuleCatalogue.parse(String.join("\n",
                "## 1. Lifecycle",
                "",
                "| id | rule | kept by |",
                "|---|---|---|",
                "| LC-a | the gate closes first | `NotificationGate` |",
                "| LC-x | not tested | `Engine` · gap: no test yet |",
                "",
                "## 10. Background",
                "",
                "| ref | what |",
                "|---|---|",
                "| BG-actors | not a rule |"));
        assertEquals(List.of("LC-a", "LC-x"), c.rules().stream().map(RuleCatalogue.Rule::id).toList());
        assertNull(c.rules().get(0).gap());
        assertEquals("no test yet", c.rules().get(1).gap());
        assertEquals("1. Lifecycle", c.rules().get(0).section());
    }

    @Test
    void aTestsColumnFollowsItsModule() {
        assertEquals(Column.ENGINE, CheckScanner.column("core-bundle/src/test/java/io/sanswitch/core/ReferenceCountingTest.java"));
        assertEquals(Column.SWITCH, CheckScanner.column("core-bundle/src/test/java/io/sanswitch/core/SwitchConnectSequencingTest.java"));
        assertEquals(Column.SWITCH, CheckScanner.column("core-bundle/src/test/java/io/sanswitch/core/switcher/RouteTest.java"));
        assertEquals(Column.TCP, CheckScanner.column("tcp-fallback-bundle/src/test/java/io/sanswitch/tcp/SwitchOverTcpTest.java"));
        assertEquals(Column.UCX, CheckScanner.column("rdma-bundle/src/test/java/io/sanswitch/rdma/UcxCycleLeakTest.java"));
        assertEquals(Column.FELIX, CheckScanner.column("itests/src/test/java/io/sanswitch/itests/SwitchHotSwapIT.java"));
        assertEquals(Column.KARAF, CheckScanner.column("karaf-itests/src/test/java/io/sanswitch/karaf/SanswitchFeatureIT.java"));
        assertNull(CheckScanner.column("benchmarks/src/test/java/io/sanswitch/benchmarks/TcpBenchmarkSmokeTest.java"));
        assertEquals(Column.UCX, CheckScanner.column("benchmarks/src/test/java/io/sanswitch/rdma/SwitchMoveTest.java"));
    }

    @Test
    void theRealCatalogueCountsTheKitForEveryBackendThatRunsIt() {
        var root = Repository.root();
        var checks = CheckScanner.scan(root);
        var kit = checks.stream().filter(ch -> ch.test().startsWith("LifecycleConformance.")).map(CheckScanner.Check::column)
                .distinct().sorted().toList();
        assertEquals(List.of(Column.TCP, Column.UCX), kit, "the kit runs on tcp (Nio*ConformanceTest) and ucx (Ucx*ConformanceTest)");
    }
}
