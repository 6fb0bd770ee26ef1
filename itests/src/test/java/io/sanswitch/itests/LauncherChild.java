package io.sanswitch.itests;

import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The launcher jar in a child JVM (real Felix with the real bundles), driven through its Gogo shell as
 * an operator types: each command is followed by an {@code echo} of a numbered mark, and its output is
 * what the shell printed before that mark. A second framework in a second JVM: two frameworks in one
 * JVM cannot both load UCX's native library.
 */
final class LauncherChild implements AutoCloseable {
    private static final long COMMAND_MILLIS = 120_000;
    private static final Pattern FAILED = Pattern.compile("(?m)^gogo: |BundleException|Bundle ID .* is invalid");
    private final Process process;
    private final Path log;
    private final OutputStream stdin;
    private int marks;
    /** Bytes of the log read so far, and those of them no command's answer took yet. */
    private long read;
    private final ByteArrayOutputStream unread = new ByteArrayOutputStream();

    private LauncherChild(Process process, Path log) {
        this.process = process;
        this.log = log;
        this.stdin = process.getOutputStream();
    }

    /** Starts the jar named by system property {@code sanswitch.launcher.jar}, its output going to {@code log}. */
    static LauncherChild start(Path log) throws IOException {
        String jar = System.getProperty("sanswitch.launcher.jar");
        assertTrue("no launcher jar: " + jar + " (package the launcher module first)",
                jar != null && Files.isRegularFile(Path.of(jar)));
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", jar);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // openucx/ucx#3337: UCX's signal handlers off in the child too, so the launcher runs in this process.
        pb.environment().put("UCX_ERROR_SIGNALS", "");
        pb.environment().putIfAbsent("UCX_LOG_LEVEL", "error");
        return new LauncherChild(pb.start(), log);
    }

    /** Runs {@code command} in the shell and answers what it printed; fails when it threw or the child died. */
    String run(String command) throws IOException, InterruptedException {
        String mark = "end-of-command-" + ++marks;
        stdin.write((command + "\necho " + mark + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        Pattern end = Pattern.compile("(?m)" + mark + "$");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(COMMAND_MILLIS);
        while (true) {
            readNew();
            // bytes, not chars, are kept: the log may end inside a multi-byte character, which decodes only
            // after the mark, never in the answer
            String text = new String(unread.toByteArray(), StandardCharsets.UTF_8);
            Matcher m = end.matcher(text);
            if (m.find()) {
                // the shell's prompt starts the first line of each output
                String out = text.substring(0, m.start()).replaceAll("(?m)^g! ", "");
                byte[] rest = unread.toByteArray();
                int answered = text.substring(0, m.end()).getBytes(StandardCharsets.UTF_8).length;
                unread.reset();
                unread.write(rest, answered, rest.length - answered);
                // how the shell and Felix's commands report a failure; the child's log lines (also here) do not fail it
                if (FAILED.matcher(out).find()) {
                    throw new AssertionError("the child's shell failed '" + command + "':\n" + out);
                }
                return out;
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("no output of '" + command + "' in the child (alive: " + process.isAlive()
                        + "):\n" + output());
            }
            Thread.sleep(20);
        }
    }

    /**
     * Appends what the child wrote since the last read. Only that is read: the cycles' tests ask the shell
     * every 20 ms for minutes, and reading the whole log each time made this JVM's collector run more often
     * than the switch under test does.
     */
    private void readNew() throws IOException {
        try (FileChannel in = FileChannel.open(log, StandardOpenOption.READ)) {
            in.position(read);
            ByteBuffer chunk = ByteBuffer.allocate(8192);
            int n;
            while ((n = in.read(chunk.clear())) > 0) {
                unread.write(chunk.array(), 0, n);
                read += n;
            }
        }
    }

    /** The id of the active bundle {@code bsn}, from {@code lb -s}. */
    long bundleId(String bsn) throws IOException, InterruptedException {
        String lb = run("lb -s");
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)\\|Active\\s*\\|\\s*\\d+\\|" + Pattern.quote(bsn) + " ").matcher(lb);
        assertTrue(bsn + " active in the child's lb -s\n" + lb, m.find());
        return Long.parseLong(m.group(1));
    }

    String output() throws IOException {
        return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
    }

    /**
     * Stops the child: end of the shell's input stops its framework (closing its sockets and ports),
     * then SIGTERM, then SIGKILL, each bounded.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        try {
            stdin.close();
        } catch (IOException gone) {
            // the child ended already
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(15, TimeUnit.SECONDS);
            }
        }
    }
}
