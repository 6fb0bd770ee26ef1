package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;

/**
 * 200 startup/final-cleanup cycles of two UCX providers with pending operations and memory
 * registrations at every final cleanup. Afterwards threads, memory mapped in UCX and JNI global
 * references are back where they started:
 * <ul>
 * <li>threads: live threads of this JVM, by name and id;
 * <li>registered memory: regions the transports mapped in UCX ({@code ucp_mem_map}) and not
 * unmapped, counted where the transport calls UCX;
 * <li>JNI global references: {@code ROOT JNI GLOBAL} records of a heap dump
 * ({@link JniGlobalReferences}), which is where JUCX keeps its requests; and the requests the
 * transport started through its own JNI library ({@link UcxNative}) and UCX has not called back.
 * </ul>
 * The start values are taken after a few warm-up cycles, once JUCX has cached what it caches for
 * the life of the JVM (class references, the loaded library).
 */
@Timeout(600)
class UcxCycleLeakTest {
    private static final int CYCLES = Integer.getInteger("sanswitch.ucx.cycles", 200);
    private static final int WARM_UP = 5;

    @Test
    @io.sanswitch.testing.Checks({"LC-b", "LC-d", "LC-f"})
    void twoHundredCyclesWithPendingWorkLeakNoThreadsRegistrationsOrJniGlobalReferences() throws Exception {
        UcxTransport ta = new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "");
        UcxTransport tb = new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "");
        KitProvider a = new KitProvider(ta);
        KitProvider b = new KitProvider(tb);
        InetSocketAddress at = Ports.freeLoopback(); // bound again in every cycle
        for (int i = 0; i < WARM_UP; i++) {
            cycle(a, b, at);
        }
        System.gc();
        Set<String> threadsBefore = threadNames();
        long jniBefore = JniGlobalReferences.count();
        // The count is the JVM's: what earlier tests in this JVM left is theirs, not the cycles'.
        long requestsBefore = UcxNative.pendingRequests();
        long aborted = 0;
        long started = System.nanoTime();
        for (int i = 0; i < CYCLES; i++) {
            aborted += cycle(a, b, at);
            assertEquals(0, ta.registeredRegions(), "regions mapped after cycle " + i);
            assertEquals(0, tb.registeredRegions(), "regions mapped after cycle " + i);
            if ((i + 1) % 50 == 0) {
                System.out.printf("[cycles] %d of %d%n", i + 1, CYCLES);
            }
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.gc();
        Set<String> threadsAfter = threadNames();
        long jniAfter = JniGlobalReferences.count();
        System.out.printf("[cycles] %d cycles in %d ms (%.1f ms each), %d operations aborted; threads %d -> %d;"
                + " UCX-mapped regions %d -> %d; JNI global references %d -> %d; requests held by UCX %d -> %d%n", CYCLES, ms,
                (double) ms / CYCLES, aborted, threadsBefore.size(), threadsAfter.size(), 0,
                ta.registeredRegions() + tb.registeredRegions(), jniBefore, jniAfter, requestsBefore, UcxNative.pendingRequests());
        // No thread the cycles started may be left; one of the JDK's that existed before may have
        // ended meanwhile (its "process reaper" ends after a minute idle, seen under load).
        Set<String> left = new java.util.TreeSet<>(threadsAfter);
        left.removeAll(threadsBefore);
        assertEquals(Set.of(), left, "threads started during the cycles and still alive (before: " + threadsBefore + ")");
        // The cycles leave no request (or endpoint error handler) registered; a forced close's requests
        // are purged a little later (docs/toolchain.md TC-17), so wait for that, bounded.
        io.sanswitch.testing.Eventually.until("no more requests registered than before the cycles (" + requestsBefore
                + "), now " + UcxNative.pendingRequests(), () -> UcxNative.pendingRequests() <= requestsBefore);
        // Every request (and a cleanup's forced closes: 2 per cycle) used to leave one behind with
        // JUCX 1.12.1's own calls (openucx/ucx#8829): 400+ here. The JVM's own use moves the count
        // by one now and then (seen: -1..+1 over a run).
        assertTrue(Math.abs(jniAfter - jniBefore) <= 2, "JNI global references: " + jniBefore + " -> " + jniAfter);
    }

    /**
     * One run of both providers: a connection with registrations on both sides (local and
     * exposed for RDMA), receives pending on both sides and a send the peer does not take in
     * full; then the final cleanups.
     *
     * @return operations aborted by the final cleanup of {@code a}
     */
    private static int cycle(KitProvider a, KitProvider b, InetSocketAddress at) throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
        a.engine.registerRdmaMemory(p.client(), ByteBuffer.allocateDirect(64 * 1024), Winsock.MEM_READWRITE);
        b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(64 * 1024), Winsock.MEM_READWRITE);
        List<Overlapped> pending = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            pending.add(a.recv(p.client(), 4096, i % 2 == 0 ? Overlapped.Mode.NOTIFY : Overlapped.Mode.POLL).overlapped());
        }
        // 4 MiB against 64 KiB of receives: most of it is still pending at the cleanup.
        Overlapped big = a.send(p.client(), new byte[4 << 20], Overlapped.Mode.NOTIFY);
        KitProvider.Receive taken = b.recv(p.server(), 64 * 1024, Overlapped.Mode.NOTIFY);
        assertTrue(KitProvider.await(taken.overlapped()).isSuccess());
        b.recv(p.server(), 4096, Overlapped.Mode.POLL);
        assertTrue(((UcxTransport) a.transport).registeredRegions() > 0 && ((UcxTransport) b.transport).registeredRegions() > 0,
                "registrations in UCX");
        a.engine.cleanup();
        int aborted = 0;
        for (Overlapped ov : pending) {
            OverlappedResult r = KitProvider.await(ov);
            assertEquals(WsaError.WSA_OPERATION_ABORTED, r.error());
            aborted++;
        }
        OverlappedResult s = KitProvider.await(big);
        assertTrue(s.isSuccess() || s.error() == WsaError.WSA_OPERATION_ABORTED, s.toString());
        b.engine.cleanup();
        return aborted + (s.isSuccess() ? 0 : 1);
    }

    private static Set<String> threadNames() throws InterruptedException {
        Set<String> names = new TreeSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && !t.getName().startsWith("ForkJoinPool")) {
                names.add(t.getName() + "#" + t.getId());
            }
        }
        return names;
    }
}
