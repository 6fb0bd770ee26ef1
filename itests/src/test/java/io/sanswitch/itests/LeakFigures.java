package io.sanswitch.itests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import io.sanswitch.api.SwitchStatistics;

/**
 * What a lifecycle can leave behind in this JVM, taken at one moment (docs/rules.md LC-d,
 * LC-revision): the live threads by group, the process's threads as the kernel counts them (UCX's
 * own threads are no Java threads), its open file descriptors, the JNI global and weak global
 * references, the switch's memory registrations, connections and provider sockets (all of them,
 * the switch's own resume ports among them: {@code SwitchStatistics.totalProviderSockets()}, not the
 * application's listeners alone, docs/rules.md SW-own-sockets), and the
 * framework's service registrations and sanswitch MBeans, and the sessions the switch parked for a
 * move (docs/migration.md section 4: each must resume or be given up).
 *
 * @param threads live Java threads by group ({@link #group})
 * @param sanswitchThreads the sanswitch threads by name, a trailing number replaced by N
 * @param tasks the process's threads, {@code /proc/self/task}
 * @param fds open file descriptors, {@code /proc/self/fd}
 * @param jniGlobalRefs JNI global references (HotSpot's {@code Thread.print})
 * @param jniWeakRefs JNI weak global references
 * @param parkedSessions sessions parked by a move, waiting for their connector's dial
 * @param heldRegistrations the memory registrations the open connections hold, each its own count
 * @param retainedBytes bytes the open connections keep for a resume (sent, not acknowledged yet)
 */
record LeakFigures(Map<String, Integer> threads, Map<String, Integer> sanswitchThreads, int tasks, int fds,
        int jniGlobalRefs, int jniWeakRefs, long memoryRegistrations, int connections, int providerSockets,
        int services, int mbeans, int parkedSessions, long heldRegistrations, long retainedBytes) {

    private static final Pattern JNI_REFS = Pattern.compile("JNI global refs: (\\d+), weak refs: (\\d+)");

    /** The figures now; {@code stats} and {@code services} come from the framework, the rest from the switch. */
    static LeakFigures take(SwitchStatistics stats, int services, int parkedSessions, long heldRegistrations,
            long retainedBytes) {
        Map<String, Integer> threads = new TreeMap<>();
        Map<String, Integer> sanswitch = new TreeMap<>();
        for (Thread t : ThreadLeaks.live()) {
            threads.merge(group(t.getName()), 1, Integer::sum);
            if (t.getName().startsWith("sanswitch-")) {
                sanswitch.merge(t.getName().replaceAll("[0-9]+", "N"), 1, Integer::sum);
            }
        }
        int[] jni = jniReferences();
        return new LeakFigures(threads, sanswitch, count(Path.of("/proc/self/task")), count(Path.of("/proc/self/fd")),
                jni[0], jni[1], stats.memoryRegistrations(), stats.connections(), stats.totalProviderSockets(),
                services, sanswitchMBeans(), parkedSessions, heldRegistrations, retainedBytes);
    }

    /** sanswitch-ucx (the UCX provider), sanswitch (switch, engine, tcp), it (this test's), other. */
    static String group(String threadName) {
        if (threadName.startsWith("sanswitch-ucx")) {
            return "sanswitch-ucx";
        }
        if (threadName.startsWith("sanswitch-")) {
            return "sanswitch";
        }
        if (threadName.startsWith("it-")) {
            return "it";
        }
        return threadName.toLowerCase(java.util.Locale.ROOT).contains("ucx") ? "ucx" : "other";
    }

    /**
     * Memory registrations the switch counts that no open connection holds: a connection gives its own
     * back whole when it ends, so any here outlived what registered them.
     */
    long unheldRegistrations() {
        return memoryRegistrations - heldRegistrations;
    }

    int threads(String group) {
        return threads.getOrDefault(group, 0);
    }

    /**
     * The JNI reference counts from the {@code Thread.print} diagnostic command (the line {@code jcmd
     * <pid> Thread.print} ends with); fails when the JVM does not print it, rather than measure nothing.
     */
    static int[] jniReferences() {
        String out;
        try {
            out = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "threadPrint",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
        } catch (JMException e) {
            throw new AssertionError("the DiagnosticCommand MBean's threadPrint failed: " + e, e);
        }
        Matcher m = JNI_REFS.matcher(out);
        if (!m.find()) {
            int tail = Math.max(0, out.length() - 300);
            throw new AssertionError("Thread.print has no line \"JNI global refs: N, weak refs: M\"; it ends: "
                    + out.substring(tail));
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    /** The sanswitch MBeans registered on the platform server (io.sanswitch:*). */
    static int sanswitchMBeans() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            return server.queryNames(new ObjectName("io.sanswitch:*"), null).size();
        } catch (JMException e) {
            throw new AssertionError(e);
        }
    }

    private static int count(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            // The listing's own descriptor is among the fds counted: the figure is steady and compared, never absolute.
            return (int) entries.count();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** One row of the table: the checkpoint, each figure, then the two given with it. */
    String row(String checkpoint, int loadersAlive, int jniGlobalBeforeGc) {
        return String.format("| %-10s | %3d | %3d | %3d | %3d | %4d | %4d | %5d | %5d | %4d | %3d | %3d | %3d | %3d | %5d | %4d | %3d | %3d | %5d |",
                checkpoint, threads("sanswitch"), threads("sanswitch-ucx"), threads("ucx"), threads("other"),
                tasks, fds, jniGlobalRefs, jniWeakRefs, memoryRegistrations, unheldRegistrations(), connections,
                providerSockets, parkedSessions, retainedBytes, services, mbeans, loadersAlive, jniGlobalBeforeGc);
    }

    static List<String> header() {
        return List.of("| checkpoint | sanswitch thr | sanswitch-ucx thr | ucx thr | other thr | process thr | fds"
                + " | JNI global | JNI weak | mem regs | mem regs no open connection holds | connections"
                + " | provider sockets | parked sessions | bytes kept for a resume | services"
                + " | MBeans | retired loaders alive | JNI global before GC |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    }
}
