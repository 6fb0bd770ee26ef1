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
}
