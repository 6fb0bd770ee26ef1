package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaException;

/**
 * Registered block buffers of one connection: those the peer's blocks arrive in, and in the read flow
 * those our blocks are copied into for the peer to read. The peer's blocks arrive in them reused once the application has taken a
 * block's bytes, so that a block costs neither an allocation (which zeroes the memory and leaves it
 * to a Cleaner) nor a registration (a memory map in the provider).
 *
 * <p>A buffer has exactly the length of its block (a write target exposes the block's bytes and no
 * more; applications send the same sizes again and again). In the read flow a buffer is
 * registered locally ({@code MEM_WRITE}): nothing is exposed. In the write flow it is exposed to the
 * peer for writing for as long as it is pooled: such a buffer only ever holds bytes this peer sent
 * on this connection, so its lasting exposure lets the peer change nothing but its own bytes. Our
 * read-flow blocks are copied into buffers exposed for reading, which only ever hold bytes the
 * application sent to this peer: the application's own memory is never exposed (docs/security.md,
 * SEC-9). Buffers in use are bounded by the blocks a peer may have in flight
 * ({@link IncomingBlocks}) plus those waiting for the application (the inbound high water); free
 * ones by {@code maxFreeBytes} and {@link #MAX_FREE}: beyond them the oldest free buffer is
 * dropped and deregistered off the connection's queue (on the switch's close threads, never
 * this queue's thread: docs/rules.md SW-close-off-io). Those being deregistered are bounded as the
 * free ones: at the bound the connection takes none of the peer's frames until one returned.
 *
 * <p>When the connection ends, {@link #forget} drops everything without a provider call: closing the
 * socket releases its registrations (docs/rules.md Q23) and a transfer may still be using them. Owned by the
 * connection's queue.
 */
final class BlockPool {
    /** Free buffers kept at most. */
    static final int MAX_FREE = 8;

    /** A registered buffer; the peer's block is written into its first bytes. */
    static final class Buffer {
        final ByteBuffer memory;
        /** Read flow: the local registration; null in the write flow. */
        final MemoryHandle local;
        /** Write flow: the exposure the peer writes through; null in the read flow. */
        final RdmaBufferDescriptor exposed;

        Buffer(ByteBuffer memory, MemoryHandle local, RdmaBufferDescriptor exposed) {
            this.memory = memory;
            this.local = local;
            this.exposed = exposed;
        }
    }

    private final SanServiceProvider spi;
    private final SocketHandle socket;
    private final RegistrationCache.Counter counter;
    private final boolean exposed;
    private final int access;
    private final long maxFreeBytes;
    /**
     * Where a dropped buffer is deregistered and a buffer made ahead registered: in order, before the socket's
     * close (docs/rules.md SW-close-off-io).
     */
    private final OffQueue offQueue;
    /** Dropped buffers whose deregistration has not returned yet, and their bytes. */
    private int releasing;
    private long releasingBytes;
    /** Oldest first. */
    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private long freeBytes;
    private long created;
    /** {@link #forget} was called: buffers given back are dropped, with no provider call. */
    private boolean forgotten;

    /**
     * @param exposed buffers are exposed to the peer ({@code registerRdmaMemory}), else registered locally
     * @param access {@link Winsock#MEM_WRITE} for the peer's blocks, {@link Winsock#MEM_READ} for ours
     * @param offQueue runs the deregistrations of dropped buffers and the registrations made ahead, in order,
     *     off the connection's queue
     */
    BlockPool(SanServiceProvider spi, SocketHandle socket, RegistrationCache.Counter counter, boolean exposed,
            int access, long maxFreeBytes, OffQueue offQueue) {
        this.offQueue = offQueue;
        this.access = access;
        this.spi = spi;
        this.socket = socket;
        this.counter = counter;
        this.exposed = exposed;
        this.maxFreeBytes = maxFreeBytes;
    }

    /** A registered buffer for a block of {@code length} bytes (already checked by {@link IncomingBlocks}). */
    Buffer take(int length) throws WsaException {
        for (Iterator<Buffer> it = free.descendingIterator(); it.hasNext();) {
            Buffer b = it.next();
            if (b.memory.capacity() == length) {
                it.remove();
                freeBytes -= length;
                return b;
            }
        }
        created++;
        Buffer b = register(ByteBuffer.allocateDirect(length));
        counter.registered(1);
        return b;
    }

    private Buffer register(ByteBuffer memory) throws WsaException {
        if (exposed) {
            return new Buffer(memory, null, spi.registerRdmaMemory(socket, memory, access));
        }
        return new Buffer(memory, spi.registerMemory(socket, memory, access), null);
    }

    /**
     * docs/rules.md SW-migrate-back: registers a buffer for a block of {@code length} bytes ahead, off this
     * queue (a registration is a call to the provider, over UCX one to its progress thread, which the queue
     * would wait for), and keeps it among the free ones: the first block of that length then costs the
     * queue no registration. Nothing is kept if the registration fails (that block registers its own) or
     * the pool was forgotten meanwhile (the socket's close, which runs after this call on the same
     * {@link OffQueue}, releases it).
     */
    void prepare(int length) {
        Buffer[] made = new Buffer[1];
        offQueue.run(() -> {
            try {
                // allocated there too: a direct buffer is zeroed as it is allocated
                made[0] = register(ByteBuffer.allocateDirect(length));
            } catch (WsaException e) {
                // the first block of that length registers its own
            }
        }, () -> {
            if (made[0] != null && !forgotten) {
                created++;
                counter.registered(1);
                giveBack(made[0]);
            }
        });
    }

    /** {@code b} is not used any more: kept for the next block, or released if enough are kept. */
    void giveBack(Buffer b) {
        if (forgotten) {
            // A retained or waiting block's buffer after the end or a move: the socket's close, which
            // may not have run yet (docs/rules.md SW-close-off-io), releases it; a deregistration now
            // would wait for the peer on the connection's queue.
            return;
        }
        free.add(b);
        freeBytes += b.memory.capacity();
        while (free.size() > MAX_FREE || freeBytes > maxFreeBytes) {
            Buffer oldest = free.poll();
            freeBytes -= oldest.memory.capacity();
            release(oldest);
        }
    }

    /**
     * Drops {@code b} for good: it never comes back to the pool, and the task holds its memory until the
     * deregistration returned. That runs on {@link #offQueue}: over UCX the deregistration of an exposure
     * waits for the peer to acknowledge its revocation (up to 5 s, docs/rules.md RD-access), and the
     * peer picks the write flow's lengths, so on this queue's thread a peer that varies them and never
     * answers would hold every connection sharing it (docs/rules.md SW-close-off-io). Counted off now:
     * the connection no longer holds it; still counted in {@link #releasesFull} until the call returned.
     */
    private void release(Buffer b) {
        counter.registered(-1);
        int length = b.memory.capacity();
        releasing++;
        releasingBytes += length;
        offQueue.run(() -> {
            try {
                if (b.exposed != null) {
                    spi.deregisterRdmaMemory(socket, b.exposed);
                } else {
                    spi.deregisterMemory(socket, b.local);
                }
            } catch (WsaException ignored) {
                // the socket is going; its close releases it
            }
        }, () -> {
            releasing--;
            releasingBytes -= length;
        });
    }

    /**
     * As many dropped buffers wait for their deregistration as the pool keeps free ones: the
     * connection takes no more of the peer's frames until one returned, so that a peer that never
     * acknowledges cannot have the switch hold ever more memory (docs/rules.md SW-close-off-io).
     */
    boolean releasesFull() {
        return releasing >= MAX_FREE || releasingBytes >= maxFreeBytes;
    }

    /**
     * Where a pool's provider calls that may wait run: the deregistrations of dropped buffers and the
     * registrations made ahead (the connection's, docs/rules.md SW-close-off-io).
     */
    interface OffQueue {
        /** Runs {@code call} off the connection's queue, in order, then {@code after} on the queue. */
        void run(Runnable call, Runnable after);
    }

    /** The connection ended: everything is dropped (the socket's close releases the registrations). */
    void forget() {
        forgotten = true;
        free.clear();
        freeBytes = 0;
    }

    long freeBytes() {
        return freeBytes;
    }

    /** Buffers allocated and registered so far. */
    long created() {
        return created;
    }
}
