package io.sanswitch.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PhaseOrderTest {
    @Test
    void yesOnlyWhenBothRdmaPhasesBeatTcp() {
        assertEquals("RDMA phases faster than TCP: yes (ucx 900.0 and 1200.5 MiB/s, tcp 600.2 MiB/s)",
                PhaseOrder.line(900, 600.2, 1200.5));
        assertEquals("RDMA phases faster than TCP: no (ucx 400.0 and 1200.0 MiB/s, tcp 600.0 MiB/s)",
                PhaseOrder.line(400, 600, 1200));
        assertEquals("RDMA phases faster than TCP: no (ucx 900.0 and 500.0 MiB/s, tcp 600.0 MiB/s)",
                PhaseOrder.line(900, 600, 500));
        assertEquals("RDMA phases faster than TCP: no (ucx 600.0 and 600.0 MiB/s, tcp 600.0 MiB/s)",
                PhaseOrder.line(600, 600, 600));
    }

    @Test
    void aPhaseWithoutItsTimedPartIsNoVerdict() {
        assertEquals("RDMA phases faster than TCP: unknown (a phase was not timed)",
                PhaseOrder.line(900, Double.NaN, 1200));
    }

    @Test
    void theMovedBackLineGivesTheRatioAndWhyWhateverTheFigures() {
        String why = "a moved-back connection's frames go over a switch connection over ucx, with a moved connection's "
                + "copies, where phase 1 used the provider socket itself (docs/migration.md section 6)";
        assertEquals("moved back (phase 3) ÷ first over ucx (phase 1): 0.50 (900.0 ÷ 1800.0 MiB/s): " + why,
                PhaseOrder.movedBack(1800, 900));
        assertEquals("moved back (phase 3) ÷ first over ucx (phase 1): 1.25 (2250.0 ÷ 1800.0 MiB/s): " + why,
                PhaseOrder.movedBack(1800, 2250));
        assertEquals("moved back (phase 3) ÷ first over ucx (phase 1): unknown (a phase was not timed)",
                PhaseOrder.movedBack(1800, Double.NaN));
        assertEquals("moved back (phase 3) ÷ first over ucx (phase 1): unknown (a phase was not timed)",
                PhaseOrder.movedBack(0, 900));
    }
}
