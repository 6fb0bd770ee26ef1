package io.sanswitch.core;

import java.util.Map;

/** Text for logs when a bounded wait runs out (docs/architecture.md conventions: bounded waits say what they waited for). */
final class Diagnostics {
    private Diagnostics() {
    }

    static String threadDump() {
        StringBuilder sb = new StringBuilder("thread dump:\n");
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            sb.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            for (StackTraceElement frame : e.getValue()) {
                sb.append("    at ").append(frame).append('\n');
            }
        }
        return sb.toString();
    }
}
