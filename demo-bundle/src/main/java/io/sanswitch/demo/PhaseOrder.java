package io.sanswitch.demo;

import java.util.Locale;

/**
 * The summary's order lines: were both RDMA phases faster than the TCP phase, and how phase 3 (the
 * connections moved back to ucx) compares with phase 1 (the same connections on ucx before any move).
 * Only stated, never a check: a shared machine's load decides rates, and the demo's verdict is about
 * behaviour.
 */
final class PhaseOrder {
    static final String PREFIX = "RDMA phases faster than TCP: ";
    static final String MOVED_BACK = "moved back (phase 3) ÷ first over ucx (phase 1): ";

    private PhaseOrder() {
    }

    /** The line for the timed rates (MiB/s) of phase 1 (ucx), phase 2 (tcp) and phase 3 (moved back to ucx). */
    static String line(double ucx, double tcp, double ucxAgain) {
        if (!(ucx >= 0 && tcp >= 0 && ucxAgain >= 0)) { // NaN: a phase never got to its timed part
            return PREFIX + "unknown (a phase was not timed)";
        }
        return String.format(Locale.ROOT, "%s%s (ucx %.1f and %.1f MiB/s, tcp %.1f MiB/s)", PREFIX,
                ucx > tcp && ucxAgain > tcp ? "yes" : "no", ucx, ucxAgain, tcp);
    }

    /**
     * The line for the timed rates (MiB/s) of phase 1 and phase 3. A moved-back session runs its
     * frames over a switch connection over ucx, not over the provider socket as phase 1 does
     * (docs/migration.md section 6, not built: the fast path), so it pays that connection's framing
     * and copies: the line says so whatever the figures.
     */
    static String movedBack(double ucx, double ucxAgain) {
        if (!(ucx > 0 && ucxAgain >= 0)) {
            return MOVED_BACK + "unknown (a phase was not timed)";
        }
        return String.format(Locale.ROOT, "%s%.2f (%.1f ÷ %.1f MiB/s): %s", MOVED_BACK, ucxAgain / ucx, ucxAgain, ucx,
                "a moved-back connection's frames go over a switch connection over ucx, with a moved connection's "
                + "copies, where phase 1 used the provider socket itself (docs/migration.md section 6)");
    }
}
