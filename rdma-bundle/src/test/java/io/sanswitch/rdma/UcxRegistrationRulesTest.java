package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * Registration and RDMA access rules where UCX's own mapping could break them: the same buffer
 * mapped twice, and exposures used after deregistration, over another connection, or against
 * their access (docs/rules.md RD-access). UCX's software lanes check no remote key and a key is not
 * bound to an endpoint, so these hold because the providers enforce them: descriptors sealed per
 * connection ({@link DescriptorSeal}), deregistrations revoked at the peer before the unmap.
 */
class UcxRegistrationRulesTest extends KitTestBase {

    private SocketHandle listener;
    private KitSwitch.Event accepts;
    private InetSocketAddress at;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    private KitProvider.Pair pair() throws Exception {
        if (listener == null) {
            a.startup();
            b.startup();
            accepts = new KitSwitch.Event();
            at = freeAddress();
            listener = b.listen(at, 4, accepts);
        }
        return a.connectTo(b, listener, accepts, at);
    }

    @Test
    @Checks({"RG-twice", "RG-inside"})
    void aBufferRegisteredTwiceStaysUsableUntilItsLastDeregistration() throws Exception {
        KitProvider.Pair p = pair();
        UcxTransport ucx = (UcxTransport) a.transport;
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        MemoryHandle first = a.register(p.client(), buffer, Winsock.MEM_READ);
        MemoryHandle second = a.register(p.client(), buffer, Winsock.MEM_READ);
        assertEquals(2, ucx.registeredRegions(), "two registrations, two mappings");

        a.engine.deregisterMemory(p.client(), first);
        assertEquals(1, ucx.registeredRegions(), "the first deregistration releases only its own mapping");
        buffer.put(0, (byte) 42);
        Overlapped send = Overlapped.polling(null);
        a.engine.send(p.client(), new WsaBuf[] {new WsaBuf(second, 0, 1)}, 0, send);
        assertTrue(KitProvider.await(send).isSuccess(), "the buffer is still registered through the second handle");
        assertArrayEquals(new byte[] {42}, b.receiveExactly(p.server(), 1, 8));
        WsaException released = assertThrows(WsaException.class,
                () -> a.engine.send(p.client(), new WsaBuf[] {WsaBuf.of(first)}, 0, Overlapped.polling(null)));
        assertEquals(WsaError.WSAEFAULT, released.error(), "a transfer through the released handle");
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(4096), Winsock.MEM_WRITE);
        WsaException releasedRdma = assertThrows(WsaException.class, () -> a.engine.rdmaWrite(p.client(),
                new WsaBuf[] {WsaBuf.of(first)}, exposure, 0, 0, Overlapped.polling(null)));
        assertEquals(WsaError.WSAEFAULT, releasedRdma.error(), "an RDMA write from the released handle");

        a.engine.deregisterMemory(p.client(), second);
        assertEquals(0, ucx.registeredRegions(), "the last deregistration releases the buffer");
        WsaException again = assertThrows(WsaException.class, () -> a.engine.deregisterMemory(p.client(), second));
        assertEquals(WsaError.WSAEINVAL, again.error());
    }

    @Test
    @Checks("RD-access")
    void aWriteOnlyExposureCannotBeReadNorAReadOnlyOneWritten() throws Exception {
        KitProvider.Pair p = pair();
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(4096), Winsock.MEM_READWRITE);
        WsaBuf[] bufs = {WsaBuf.of(local)};
        RdmaBufferDescriptor writeOnly = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(4096), Winsock.MEM_WRITE);
        WsaException notReadable = assertThrows(WsaException.class,
                () -> a.engine.rdmaRead(p.client(), bufs, writeOnly, 0, 0, Overlapped.notifying(null)));
        assertEquals(WsaError.WSAEINVAL, notReadable.error(), "reading a write-only exposure");
        RdmaBufferDescriptor readOnly = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(4096), Winsock.MEM_READ);
        WsaException notWritable = assertThrows(WsaException.class,
                () -> a.engine.rdmaWrite(p.client(), bufs, readOnly, 0, 0, Overlapped.notifying(null)));
        assertEquals(WsaError.WSAEINVAL, notWritable.error(), "writing a read-only exposure");
        // Each with its own access still works.
        Overlapped write = Overlapped.polling(null);
        a.engine.rdmaWrite(p.client(), bufs, writeOnly, 0, 0, write);
        assertTrue(KitProvider.await(write).isSuccess());
    }

    @Test
    @Checks("RD-access")
    void anExposureIsNotUsableAfterItsDeregistration() throws Exception {
        KitProvider.Pair p = pair();
        ByteBuffer target = ByteBuffer.allocateDirect(4096);
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(4096).put(0, (byte) 7), Winsock.MEM_READWRITE);
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), target, Winsock.MEM_READWRITE);
        b.engine.deregisterRdmaMemory(p.server(), exposure);
        assertRefusedOrFailed(a, p.client(), local, exposure, target, "an exposure after its deregistration");
    }

    @Test
    @Checks("RD-access")
    void anExposureIsNotUsableOverAnotherConnection() throws Exception {
        KitProvider.Pair p = pair();
        KitProvider.Pair other = pair();
        ByteBuffer target = ByteBuffer.allocateDirect(4096);
        MemoryHandle otherLocal = a.register(other.client(), ByteBuffer.allocateDirect(4096).put(0, (byte) 7), Winsock.MEM_READWRITE);
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), target, Winsock.MEM_READWRITE);
        assertRefusedOrFailed(a, other.client(), otherLocal, exposure, target, "the exposure of another connection");
    }

    /**
     * RDMA writes go on while the exposing side deregisters the target: each write completes and is
     * in the buffer when the deregistration returns, or fails; nothing lands after it, and a write
     * started after it fails. Each write fills its own slot, so a late one shows.
     */
    @Test
    @Checks("RD-access")
    void aWriteInFlightAtTheDeregistrationLandsBeforeItReturnsOrFails() throws Exception {
        KitProvider.Pair p = pair();
        int slots = 8192;
        int window = 8;
        ByteBuffer target = ByteBuffer.allocateDirect(slots * Long.BYTES);
        ByteBuffer source = ByteBuffer.allocateDirect(slots * Long.BYTES);
        for (int i = 0; i < slots; i++) {
            source.putLong(i * Long.BYTES, i + 1L);
        }
        MemoryHandle local = a.register(p.client(), source, Winsock.MEM_READ);
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), target, Winsock.MEM_WRITE);

        AtomicInteger succeeded = new AtomicInteger();
        CountDownLatch deregistered = new CountDownLatch(1);
        boolean[] posted = new boolean[slots];
        boolean[] landed = new boolean[slots];
        int[] afterwards = {-1}; // the slot of the write started after the deregistration returned
        AtomicReference<Throwable> writerFailed = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                ArrayDeque<Integer> inFlight = new ArrayDeque<>();
                Overlapped[] writes = new Overlapped[slots];
                int next = 0;
                while (afterwards[0] < 0) {
                    boolean after = deregistered.getCount() == 0;
                    if (!after && next == slots - 1) {
                        // Every slot but the last used: the last is for a write after the deregistration.
                        assertTrue(deregistered.await(60, TimeUnit.SECONDS), "the deregistration did not return");
                        after = true;
                    }
                    int slot = next++;
                    if (after) {
                        afterwards[0] = slot;
                    }
                    writes[slot] = Overlapped.notifying(null);
                    try {
                        a.engine.rdmaWrite(p.client(), new WsaBuf[] {new WsaBuf(local, slot * Long.BYTES, Long.BYTES)},
                                exposure, slot * Long.BYTES, 0, writes[slot]);
                        posted[slot] = true;
                        inFlight.add(slot);
                    } catch (WsaException refused) {
                        assertEquals(WsaError.WSAEINVAL, refused.error(), "a write refused at its call");
                    }
                    while (inFlight.size() >= window || afterwards[0] >= 0 && !inFlight.isEmpty()) {
                        int done = inFlight.poll();
                        if (KitProvider.await(writes[done]).isSuccess()) {
                            landed[done] = true;
                            succeeded.incrementAndGet();
                        }
                    }
                }
            } catch (Throwable e) {
                writerFailed.set(e);
            }
        }, "rdma-writer");
        writer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (succeeded.get() < 4 * window && writer.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(succeeded.get() >= 4 * window, "writes before the deregistration: " + succeeded.get()
                + (writerFailed.get() == null ? "" : ", writer: " + writerFailed.get()));

        b.engine.deregisterRdmaMemory(p.server(), exposure);
        byte[] atReturn = new byte[target.capacity()];
        target.duplicate().clear().get(atReturn);
        deregistered.countDown();
        writer.join(TimeUnit.SECONDS.toMillis(120));
        assertFalse(writer.isAlive(), "the writer did not finish");
        if (writerFailed.get() != null) {
            throw new AssertionError("the writer failed", writerFailed.get());
        }
        byte[] atEnd = new byte[target.capacity()];
        target.duplicate().clear().get(atEnd);
        assertArrayEquals(atReturn, atEnd, "the peer's buffer changed after its deregistration returned");
        ByteBuffer landedBytes = ByteBuffer.wrap(atEnd);
        for (int i = 0; i < slots; i++) {
            if (landed[i]) {
                assertEquals(i + 1L, landedBytes.getLong(i * Long.BYTES), "write " + i + " succeeded but is not there");
            }
        }
        assertTrue(afterwards[0] >= 0, "no write was started after the deregistration");
        assertFalse(landed[afterwards[0]], "a write started after the deregistration succeeded");
    }

    /**
     * A deregistration on the exposing side's UCX progress thread (an upcall does that, as the
     * switch's block pool) does not wait there for the peer: it returns, the memory is unmapped
     * when the peer has acknowledged the revocation, and the exposure is not usable from then on.
     */
    @Test
    @Checks("RD-access")
    void aDeregistrationOnTheProgressThreadRevokesAndUnmapsWhenThePeerAcknowledges() throws Exception {
        KitProvider.Pair p = pair();
        UcxTransport exposing = (UcxTransport) b.transport;
        ByteBuffer target = ByteBuffer.allocateDirect(4096);
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(4096).put(0, (byte) 7), Winsock.MEM_READWRITE);
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), target, Winsock.MEM_READWRITE);
        Overlapped used = Overlapped.notifying(null);
        a.engine.rdmaWrite(p.client(), new WsaBuf[] {new WsaBuf(local, 0, 1)}, exposure, 1, 0, used);
        assertTrue(KitProvider.await(used).isSuccess(), "a write while it is registered");
        long mapped = exposing.registeredRegions();

        exposing.workerThread().call(() -> {
            b.engine.deregisterRdmaMemory(p.server(), exposure);
            return null;
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (exposing.registeredRegions() != mapped - 1 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(mapped - 1, exposing.registeredRegions(), "unmapped once the peer acknowledged");
        assertRefusedOrFailed(a, p.client(), local, exposure, target, "an exposure deregistered on the progress thread");
        Overlapped stillConnected = Overlapped.polling(null);
        a.engine.send(p.client(), new WsaBuf[] {new WsaBuf(local, 0, 1)}, 0, stillConnected);
        assertTrue(KitProvider.await(stillConnected).isSuccess(), "the connection was not reset");
        assertArrayEquals(new byte[] {7}, b.receiveExactly(p.server(), 1, 8));
    }

    /**
     * The final cleanup resets every socket (docs/rules.md LC-c), so it releases an RDMA exposure
     * without the revocation round trip (docs/toolchain.md TC-22): with the peer acknowledging
     * nothing (its control connection's thread held), the cleanup does not wait
     * {@link UcxSocket#REVOKE_WAIT} for it, and the memory is unmapped all the same, after the reset.
     */
    @Test
    @Checks("RD-access")
    void theFinalCleanupReleasesAnExposureWithoutWaitingForThePeersAcknowledgement() throws Exception {
        KitProvider.Pair p = pair();
        UcxTransport exposing = (UcxTransport) b.transport;
        b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(4096), Winsock.MEM_READWRITE);
        assertTrue(exposing.registeredRegions() > 0, "the exposure is mapped");
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ((UcxTransport) a.transport).rendezvous().execute(() -> {
            held.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(30, TimeUnit.SECONDS), "the peer's rendezvous thread was not held");
        try {
            long start = System.nanoTime();
            b.engine.cleanup();
            long tookNanos = System.nanoTime() - start;
            assertTrue(tookNanos < UcxSocket.REVOKE_WAIT.toNanos(), "the final cleanup took " + tookNanos / 1_000_000
                    + " ms: it waited for the peer to acknowledge a revocation");
            assertEquals(0, exposing.registeredRegions(), "the final cleanup left memory mapped");
        } finally {
            release.countDown();
        }
    }

    /**
     * Descriptors the peer did not make for this connection as they are: cut, lengthened, each
     * byte changed, random bytes, one with the right magic number and random fields, and this
     * side's own exposure (sealed by this side). Each is refused (or fails) without reaching the
     * peer's buffer, and the connection still works afterwards.
     */
    @Test
    @Checks("RD-access")
    void aForgedOrGarbledDescriptorIsRefused() throws Exception {
        KitProvider.Pair p = pair();
        ByteBuffer target = ByteBuffer.allocateDirect(4096);
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(4096).put(0, (byte) 7), Winsock.MEM_READWRITE);
        RdmaBufferDescriptor exposure = b.engine.registerRdmaMemory(p.server(), target, Winsock.MEM_READWRITE);
        byte[] real = exposure.toBytes();
        Map<String, byte[]> bad = new LinkedHashMap<>();
        for (int length = 1; length < real.length; length++) {
            bad.put("cut to " + length + " bytes", Arrays.copyOf(real, length));
        }
        bad.put("a byte more", Arrays.copyOf(real, real.length + 1));
        for (int at = 0; at < real.length; at++) {
            byte[] changed = real.clone();
            changed[at] ^= (byte) (1 << (at % 8));
            bad.put("byte " + at + " changed", changed);
        }
        Random random = new Random(14);
        for (int i = 0; i < 200; i++) {
            byte[] noise = new byte[1 + random.nextInt(i % 2 == 0 ? real.length * 2 : RdmaBufferDescriptor.MAX_BYTES)];
            random.nextBytes(noise);
            bad.put("random bytes " + i, noise);
            byte[] headed = noise.length < 4 ? noise : ByteBuffer.wrap(noise.clone()).putInt(0, UcxRegion.Descriptor.MAGIC).array();
            bad.put("the magic number and random bytes " + i, headed);
        }
        bad.put("this side's own exposure",
                a.engine.registerRdmaMemory(p.client(), ByteBuffer.allocateDirect(4096), Winsock.MEM_READWRITE).toBytes());
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            assertRefusedOrFailed(a, p.client(), local, RdmaBufferDescriptor.of(e.getValue()), target, e.getKey());
        }
        Overlapped write = Overlapped.notifying(null);
        a.engine.rdmaWrite(p.client(), new WsaBuf[] {new WsaBuf(local, 0, 1)}, exposure, 0, 0, write);
        assertTrue(KitProvider.await(write).isSuccess(), "the real descriptor after the forged ones");
        assertEquals(7, target.get(0));
    }

    /** An RDMA write of {@code local}'s first byte that must not land: refused at the call, or failed. */
    private static void assertRefusedOrFailed(KitProvider from, SocketHandle s, MemoryHandle local,
            RdmaBufferDescriptor descriptor, ByteBuffer target, String what) throws Exception {
        byte[] before = new byte[16];
        target.duplicate().clear().get(before);
        Overlapped write = Overlapped.notifying(null);
        try {
            from.engine.rdmaWrite(s, new WsaBuf[] {new WsaBuf(local, 0, 1)}, descriptor, 0, 0, write);
            OverlappedResult r = KitProvider.await(write);
            assertFalse(r.isSuccess(), what + ": the write completed with success");
        } catch (WsaException e) {
            assertEquals(WsaError.WSAEINVAL, e.error(), what);
        }
        byte[] after = new byte[16];
        target.duplicate().clear().get(after);
        assertTrue(Arrays.equals(before, after), what + ": the peer's buffer changed");
    }
}
