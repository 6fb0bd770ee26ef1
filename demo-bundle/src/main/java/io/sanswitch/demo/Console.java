package io.sanswitch.demo;

import java.io.PrintStream;

/**
 * The demo's output: event lines, and one progress line that a terminal redraws in place (on a
 * pipe or in a log it is printed as a new line every second instead).
 */
final class Console {
    private final PrintStream out;
    private final boolean live;
    private boolean progressShown;

    Console(PrintStream out, boolean live) {
        this.out = out;
        this.live = live;
    }

    boolean live() {
        return live;
    }

    synchronized void line(String text) {
        clearProgress();
        out.println(text);
        out.flush();
    }

    synchronized void progress(String text) {
        if (live) {
            out.print("\r\033[2K" + text);
            progressShown = true;
        } else {
            out.println(text);
        }
        out.flush();
    }

    synchronized void clearProgress() {
        if (progressShown) {
            out.print("\r\033[2K");
            progressShown = false;
        }
    }
}
