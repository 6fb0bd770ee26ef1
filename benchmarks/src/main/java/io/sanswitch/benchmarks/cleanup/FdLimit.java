package io.sanswitch.benchmarks.cleanup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The process's open-file limit: 10,000 loopback connections with both ends in this process need
 * more than 20,000 descriptors. Read from {@code /proc/self/limits}; raised, where allowed (root),
 * with {@code prlimit --pid} on this very process, which child processes then inherit.
 */
final class FdLimit {
    private FdLimit() {
    }

    /** The soft limit, or -1 if it cannot be read (not Linux). */
    static long soft() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                    return f[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Makes sure the soft limit is at least {@code needed}.
     *
     * @return what was done, for the report
     */
    static String ensure(long needed, long raiseTo) {
        long soft = soft();
        if (soft < 0 || soft >= needed) {
            return "open-file limit " + (soft < 0 ? "unknown" : soft) + ", enough for " + needed;
        }
        long pid = ProcessHandle.current().pid();
        try {
            Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + raiseTo + ":" + raiseTo)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "open-file limit " + soft + " (needed " + needed + "); prlimit failed: " + out;
            }
        } catch (IOException e) {
            return "open-file limit " + soft + " (needed " + needed + "); prlimit not runnable: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "open-file limit " + soft + "; interrupted";
        }
        return "open-file limit raised from " + soft + " to " + soft() + " (prlimit --pid " + pid + " --nofile="
                + raiseTo + ":" + raiseTo + ")";
    }
}
