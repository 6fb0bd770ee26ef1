package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaException;

/**
 * The local registrations ({@code registerMemory}) of the application's direct buffers that this
 * connection's blocks are RDMA-written from ({@code MEM_READ}) or RDMA-read into ({@code MEM_WRITE}),
 * kept between blocks: applications send and receive again and again with a few buffers, and every
 * registration is a memory map in the provider.
 *
 * <p>A buffer is known by identity: its whole memory ({@code 0 .. capacity}) is registered once and
 * a block is a slice of it. The cache holds the buffer, so its memory cannot be freed while it is
 * registered. At most {@code maxEntries} buffers and {@code maxBytes} bytes are kept; the least
 * recently used one that no block is using is deregistered to make room, and a buffer that does not
 * fit is registered for its block only. These registrations are local: nothing here is exposed to
 * the peer (which is why the read flow's sender, which exposes its block, copies it into a pooled
 * buffer instead; docs/security.md SEC-9).
 *
 * <p>When the connection ends, {@link #forget} drops everything without a provider call: closing
 * the socket releases its registrations (docs/rules.md Q23), and a transfer may still be using them. Owned
 * by the connection's queue.
 */
final class RegistrationCache {
    /** A registration a block uses; {@link #release} once the block is done with it. */
    interface Lease {
        MemoryHandle handle();

        /** The offset of the block's first byte inside {@link #handle()}. */
        int offset();

        void release();
    }

    /** Counts real provider registrations (the connection's counter). */
    interface Counter {
        void registered(int delta);
    }

    /** The identity of an application buffer. */
    private record Key(ByteBuffer buffer) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.buffer == buffer;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(buffer);
        }
    }

    private final class Entry {
        final ByteBuffer buffer;
        final MemoryHandle handle;
        int users;

        Entry(ByteBuffer buffer, MemoryHandle handle) {
            this.buffer = buffer;
            this.handle = handle;
        }
    }

    private final SanServiceProvider spi;
    /** {@code MEM_READ} for buffers blocks go from, {@code MEM_WRITE} for buffers they are read into. */
    private final int access;
    private final SocketHandle socket;
    private final Counter counter;
    private final int maxEntries;
    private final long maxBytes;
    /** In access order: the first is the least recently used. */
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;

    RegistrationCache(SanServiceProvider spi, SocketHandle socket, Counter counter, int access, int maxEntries,
            long maxBytes) {
        this.spi = spi;
        this.access = access;
        this.socket = socket;
        this.counter = counter;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /**
     * A registration covering {@code block}, a slice ({@code position .. limit}) of the direct
     * buffer {@code owner}.
     */
    Lease lease(ByteBuffer owner, ByteBuffer block) throws WsaException {
        Key key = new Key(owner);
        Entry e = entries.get(key);
        if (e == null) {
            misses++;
            ByteBuffer whole = owner.duplicate().clear();
            if (whole.capacity() <= maxBytes && makeRoom(whole.capacity())) {
                e = new Entry(owner, register(whole));
                entries.put(key, e);
                bytes += whole.capacity();
            } else {
                return once(block);
            }
        } else {
            hits++;
        }
        Entry used = e;
        used.users++;
        int offset = block.position();
        return new Lease() {
            private boolean released;

            @Override
            public MemoryHandle handle() {
                return used.handle;
            }

            @Override
            public int offset() {
                return offset;
            }

            @Override
            public void release() {
                if (!released) {
                    released = true;
                    used.users--;
                }
            }
        };
    }

    /** Evicts unused entries, least recently used first, until {@code size} more bytes fit. */
    private boolean makeRoom(long size) {
        Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator();
        while ((entries.size() >= maxEntries || bytes + size > maxBytes) && it.hasNext()) {
            Entry e = it.next().getValue();
            if (e.users == 0) {
                it.remove();
                bytes -= e.buffer.capacity();
                deregister(e.handle);
            }
        }
        return entries.size() < maxEntries && bytes + size <= maxBytes;
    }

    /** A registration of {@code block} (position .. limit) for one block only. */
    Lease once(ByteBuffer block) throws WsaException {
        MemoryHandle h = register(block.slice());
        return new Lease() {
            private boolean released;

            @Override
            public MemoryHandle handle() {
                return h;
            }

            @Override
            public int offset() {
                return 0;
            }

            @Override
            public void release() {
                if (!released) {
                    released = true;
                    deregister(h);
                }
            }
        };
    }

    private MemoryHandle register(ByteBuffer b) throws WsaException {
        MemoryHandle h = spi.registerMemory(socket, b, access);
        counter.registered(1);
        return h;
    }

    /** Failing only costs the registration until the socket closes. */
    private void deregister(MemoryHandle h) {
        try {
            spi.deregisterMemory(socket, h);
            counter.registered(-1);
        } catch (WsaException ignored) {
            // the socket is going; its close releases it
        }
    }

    /** The connection ended: everything is dropped (the socket's close releases the registrations). */
    void forget() {
        entries.clear();
        bytes = 0;
    }

    int size() {
        return entries.size();
    }

    long bytes() {
        return bytes;
    }

    long hits() {
        return hits;
    }

    long misses() {
        return misses;
    }
}
