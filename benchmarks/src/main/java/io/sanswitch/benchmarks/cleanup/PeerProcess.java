package io.sanswitch.benchmarks.cleanup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A {@link CleanupPeer} child JVM, seen from the measuring process. */
final class PeerProcess implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final Writer in;
    private InetSocketAddress address;

    PeerProcess(String... peerArgs) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", CleanupBenchmark.classpath(),
                CleanupPeer.class.getName()));
        command.addAll(List.of(peerArgs));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's handlers would take the JVM's SIGSEGV
        process = pb.start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        address = readPort();
    }

    /** Where it listens now. */
    InetSocketAddress address() {
        return address;
    }

    /** Ends its run (its ends of the last fixture's connections go) and listens anew. */
    void next() throws IOException {
        in.write("next\n");
        in.flush();
        address = readPort();
    }

    /** Waits until it has accepted {@code n} connections in this run; returns how many it has. */
    int awaitAccepted(int n) throws IOException {
        in.write("await " + n + "\n");
        in.flush();
        String line = out.readLine();
        if (line == null || !line.startsWith("ACCEPTED ")) {
            throw new IOException("the cleanup peer answered " + line);
        }
        return Integer.parseInt(line.substring(9).trim());
    }

    private InetSocketAddress readPort() throws IOException {
        String line = out.readLine();
        if (line == null || !line.startsWith("PORT ")) {
            throw new IOException("the cleanup peer did not start listening: " + line);
        }
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(line.substring(5).trim()));
    }

    @Override
    public void close() throws InterruptedException {
        try {
            in.close();
        } catch (IOException e) {
            // gone already
        }
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
