package io.sanswitch.demo;

import java.util.Locale;

/**
 * The summary's order line: were both RDMA phases faster than the TCP phase? Only stated, never a
 * check: a shared machine's load decides rates, and the demo's verdict is about behaviour.
 */
final class PhaseOrder {
    static final String PREFIX = "RDMA phases faster than TCP: ";

    private PhaseOrder() {
    }

    /** The line for the timed rates (MiB/s) of phase 1 (ucx), phase 2 (tcp) and phase 3 (ucx again). */
    static String line(double ucx, double tcp, double ucxAgain) {
        if (!(ucx >= 0 && tcp >= 0 && ucxAgain >= 0)) { // NaN: a phase never got to its timed part
            return PREFIX + "unknown (a phase was not timed)";
        }
        return String.format(Locale.ROOT, "%s%s (ucx %.1f and %.1f MiB/s, tcp %.1f MiB/s)", PREFIX,
                ucx > tcp && ucxAgain > tcp ? "yes" : "no", ucx, ucxAgain, tcp);
    }
}
