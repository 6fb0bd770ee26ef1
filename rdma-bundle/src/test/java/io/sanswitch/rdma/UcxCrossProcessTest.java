package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Two JVM processes talking over UCX: this one and a {@link UcxEchoPeer}, each with its own
 * provider, UCX context and worker. UCX picks shared memory between processes of one host by
 * default (with TCP beside it: UCX's shared-memory transports cannot detect a failed peer, which
 * the endpoints' peer error handling needs, so {@code UCX_TLS=sm} alone is refused); the same
 * traffic also runs with UCX restricted to TCP.
 */
@Timeout(180)
class UcxCrossProcessTest {
    private static final int MIB = 1 << 20;
    private Process peer;
    private KitProvider client;

    @AfterEach
    void stop() throws InterruptedException {
        if (client != null) {
            client.close();
        }
        if (peer != null && peer.isAlive()) {
            peer.destroyForcibly();
            peer.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts the peer process and waits until it listens; its output goes to {@code lines}. */
    private InetSocketAddress startPeer(String tls, ProgressPolicy policy, BlockingQueue<String> lines) throws Exception {
        int port = Ports.free(InetAddress.getLoopbackAddress()); // the peer process binds it
        List<String> command = List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), UcxEchoPeer.class.getName(), String.valueOf(port), tls,
                policy.name());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("UCX_ERROR_SIGNALS", ""); // docs/toolchain.md TC-12: UCX's handlers stay out of the JVM
        peer = pb.start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(peer.getInputStream()))) {
                for (String line; (line = r.readLine()) != null;) {
                    System.out.println("[peer] " + line);
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("EOF " + e);
            }
        }, "peer output");
        reader.setDaemon(true);
        reader.start();
        awaitLine(lines, "READY");
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private static String awaitLine(BlockingQueue<String> lines, String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line;
            }
        }
        throw new AssertionError("the peer never printed " + prefix);
    }

    private SocketHandle connect(String tls, ProgressPolicy policy, InetSocketAddress at) throws Exception {
        client = new KitProvider(new UcxTransport(policy, tls.equals("-") ? "" : tls));
        client.startup();
        return client.connected(at);
    }

    private RdmaBufferDescriptor peersDescriptor(SocketHandle s) throws Exception {
        int length = ByteBuffer.wrap(client.receiveExactly(s, 4, 4)).getInt();
        return RdmaBufferDescriptor.of(client.receiveExactly(s, length, length));
    }

    @ParameterizedTest(name = "UCX_TLS={0}, progress {1}")
    @CsvSource({"-, SPIN_THEN_WAKEUP", "tcp, SPIN_THEN_WAKEUP", "-, BUSY_POLL"})
    @io.sanswitch.testing.Checks("RD-exact")
    void streamAndRdmaBetweenTwoProcesses(String tls, ProgressPolicy policy) throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        SocketHandle s = connect(tls, policy, startPeer(tls, policy, lines));
        String lanes = String.join("\n", ((UcxTransport) client.transport).describeEndpoints());
        System.out.println("[lanes UCX_TLS=" + tls + "]\n" + lanes);
        boolean sharedMemory = lanes.contains("posix/") || lanes.contains("sysv/") || lanes.contains("cma/");
        if (tls.equals("tcp")) {
            assertTrue(lanes.contains("tcp/") && !sharedMemory, "lanes other than tcp:\n" + lanes);
        } else {
            // Peer error handling on both sides must not cost the shared-memory transports.
            assertTrue(sharedMemory, "no shared-memory lane between two processes of one host:\n" + lanes);
        }


        // RDMA write into the other process's exposed buffer, then read it back from there.
        RdmaBufferDescriptor exposed = peersDescriptor(s);
        byte[] data = new byte[UcxEchoPeer.EXPOSED];
        new Random(11).nextBytes(data);
        MemoryHandle source = client.register(s, ByteBuffer.allocateDirect(data.length).put(data).flip(), Winsock.MEM_READ);
        Overlapped write = Overlapped.notifying(null);
        client.engine.rdmaWrite(s, new WsaBuf[] {WsaBuf.of(source)}, exposed, 0, 0, write);
        assertTrue(KitProvider.await(write).isSuccess(), "RDMA write across processes");
        ByteBuffer back = ByteBuffer.allocateDirect(data.length);
        MemoryHandle into = client.register(s, back, Winsock.MEM_WRITE);
        Overlapped read = Overlapped.polling(null);
        client.engine.rdmaRead(s, new WsaBuf[] {WsaBuf.of(into)}, exposed, 0, 0, read);
        assertTrue(KitProvider.await(read).isSuccess(), "RDMA read across processes");
        byte[] got = new byte[data.length];
        back.get(got);
        assertArrayEquals(data, got, "what was written is what the other process holds");

        // The stream, echoed byte for byte.
        long sent = 0;
        for (int size : new int[] {1, 1000, 64 * 1024, MIB, 16 * MIB}) {
            byte[] chunk = new byte[size];
            new Random(size).nextBytes(chunk);
            Overlapped send = client.send(s, chunk, Overlapped.Mode.NOTIFY);
            assertArrayEquals(chunk, client.receiveExactly(s, size, MIB), size + " bytes echoed");
            assertTrue(KitProvider.await(send).isSuccess());
            sent += size;
        }
        // An orderly close ends the peer's stream after the data; it echoed everything and exits cleanly.
        client.engine.closeSocket(s);
        assertEquals("DONE " + sent, awaitLine(lines, "DONE"));
        assertTrue(peer.waitFor(30, TimeUnit.SECONDS), "the peer exits after its final cleanup");
        assertEquals(0, peer.exitValue());
    }

    /**
     * The peer process is killed (SIGKILL) while sends and receives are in flight: every pending
     * operation still completes, with a reset, within a bounded time, and the final cleanup does
     * not hang.
     */
    @ParameterizedTest(name = "progress {0}")
    @EnumSource(value = ProgressPolicy.class, names = {"SPIN_THEN_WAKEUP", "BUSY_POLL"})
    @io.sanswitch.testing.Checks("SK-peer-reset")
    void aPeerKilledMidTransferFailsPendingOperationsWithinBoundedTime(ProgressPolicy policy) throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        SocketHandle s = connect("-", policy, startPeer("-", policy, lines));
        peersDescriptor(s);
        byte[] chunk = new byte[MIB];
        new Random(3).nextBytes(chunk);
        // Warm the stream up: 16 MiB echoed.
        for (int i = 0; i < 16; i++) {
            Overlapped send = client.send(s, chunk, Overlapped.Mode.NOTIFY);
            assertArrayEquals(chunk, client.receiveExactly(s, MIB, MIB));
            assertTrue(KitProvider.await(send).isSuccess());
        }
        List<Overlapped> pending = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            pending.add(client.send(s, chunk, Overlapped.Mode.NOTIFY));
            pending.add(client.recv(s, MIB, i % 2 == 0 ? Overlapped.Mode.NOTIFY : Overlapped.Mode.POLL).overlapped());
        }
        long killedAt = System.nanoTime();
        peer.destroyForcibly(); // SIGKILL on Linux
        int failed = 0;
        long lastMs = 0;
        for (Overlapped ov : pending) {
            OverlappedResult r = ov.awaitResult(10, TimeUnit.SECONDS);
            assertNotNull(r, () -> "operation " + pending.indexOf(ov) + " (even: send, odd: receive) pending at the kill never"
                    + " completed; " + ((UcxTransport) client.transport).describeSockets());
            lastMs = Math.max(lastMs, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt));
            if (!r.isSuccess()) {
                assertEquals(WsaError.WSAECONNRESET, r.error(), "a dead peer is a reset (docs/rules.md SK-peer-reset)");
                failed++;
            }
        }
        System.out.printf("[sigkill] %d of %d pending operations failed with WSAECONNRESET; the last completed %d ms after the kill%n",
                failed, pending.size(), lastMs);
        assertTrue(failed > 0, "some operations were still in flight at the kill");
        // Later calls see the reset at once.
        WsaError later;
        try {
            later = KitProvider.await(client.recv(s, 16, Overlapped.Mode.POLL).overlapped()).error();
        } catch (WsaException e) {
            later = e.error();
        }
        assertEquals(WsaError.WSAECONNRESET, later);
        long cleanupStart = System.nanoTime();
        client.engine.cleanup();
        System.out.printf("[sigkill] final cleanup took %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cleanupStart));
    }
}
