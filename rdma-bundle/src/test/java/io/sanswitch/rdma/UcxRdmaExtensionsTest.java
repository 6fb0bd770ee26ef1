package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The SAN extensions over UCX through the engine: the peer exposes a buffer, RDMA write puts
 * data into it, RDMA read gets it back, and bad descriptors, ranges and access are refused
 * before UCX touches any memory.
 */
class UcxRdmaExtensionsTest extends KitTestBase {

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    private KitProvider.Pair pair() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        return a.connectTo(b, listener, accepts, at);
    }

    @Test
    @io.sanswitch.testing.Checks({"RD-exact", "RD-extensions"})
    void rdmaWritePutsDataIntoThePeersExposedBufferAndRdmaReadGetsItBack() throws Exception {
        KitProvider.Pair p = pair();
        assertEquals(SanExtension.RDMA_READ, a.engine.getExtensionFunction(p.client(), SanExtension.RDMA_READ.guid()));
        int size = 1 << 20;
        ByteBuffer exposed = ByteBuffer.allocateDirect(2 * size);
        RdmaBufferDescriptor target = b.engine.registerRdmaMemory(p.server(), exposed, Winsock.MEM_READWRITE);

        byte[] data = new byte[size];
        new Random(5).nextBytes(data);
        ByteBuffer local = ByteBuffer.allocateDirect(size).put(data).flip();
        MemoryHandle source = a.register(p.client(), local, Winsock.MEM_READ);
        Overlapped write = Overlapped.notifying(null);
        a.engine.rdmaWrite(p.client(), new WsaBuf[] {WsaBuf.of(source)}, target, size, 0, write);
        OverlappedResult w = KitProvider.await(write);
        assertTrue(w.isSuccess(), w.toString());
        assertEquals(size, w.bytesTransferred());
        byte[] landed = new byte[size];
        exposed.duplicate().position(size).get(landed);
        assertArrayEquals(data, landed, "the write landed at the offset in the peer's buffer");

        ByteBuffer back = ByteBuffer.allocateDirect(size);
        MemoryHandle into = a.register(p.client(), back, Winsock.MEM_WRITE);
        Overlapped read = Overlapped.polling(null);
        a.engine.rdmaRead(p.client(), new WsaBuf[] {WsaBuf.of(into)}, target, size, 0, read);
        OverlappedResult r = KitProvider.await(read);
        assertTrue(r.isSuccess(), r.toString());
        byte[] got = new byte[size];
        back.duplicate().get(got);
        assertArrayEquals(data, got, "RDMA read got the bytes back");

        b.engine.deregisterRdmaMemory(p.server(), target);
        WsaException again = assertThrows(WsaException.class, () -> b.engine.deregisterRdmaMemory(p.server(), target));
        assertEquals(WsaError.WSAEINVAL, again.error());
    }

    @Test
    @io.sanswitch.testing.Checks({"RD-access", "ERR-rdmaWrite", "ERR-rdmaRead"})
    void descriptorsRangesAndAccessAreCheckedBeforeUcxTouchesMemory() throws Exception {
        KitProvider.Pair p = pair();
        RdmaBufferDescriptor readOnly = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(4096),
                Winsock.MEM_READ);
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(4096), Winsock.MEM_READWRITE);
        WsaBuf[] bufs = {WsaBuf.of(local)};

        WsaException outside = assertThrows(WsaException.class,
                () -> a.engine.rdmaWrite(p.client(), bufs, readOnly, 1, 0, Overlapped.notifying(null)));
        assertEquals(WsaError.WSAEINVAL, outside.error(), "4096 bytes at offset 1 leave the 4096-byte buffer");
        WsaException denied = assertThrows(WsaException.class,
                () -> a.engine.rdmaWrite(p.client(), bufs, readOnly, 0, 0, Overlapped.notifying(null)));
        assertEquals(WsaError.WSAEINVAL, denied.error(), "a read-only exposure cannot be written");
        WsaException garbage = assertThrows(WsaException.class, () -> a.engine.rdmaRead(p.client(), bufs,
                RdmaBufferDescriptor.of(new byte[] {1, 2, 3}), 0, 0, Overlapped.notifying(null)));
        assertEquals(WsaError.WSAEINVAL, garbage.error());
        WsaException heap = assertThrows(WsaException.class,
                () -> a.engine.registerRdmaMemory(p.client(), ByteBuffer.allocate(64), Winsock.MEM_WRITE));
        assertEquals(WsaError.WSAEFAULT, heap.error(), "UCX maps direct buffers only");
        // The read-only exposure can be read.
        Overlapped read = Overlapped.notifying(null);
        a.engine.rdmaRead(p.client(), bufs, readOnly, 0, 0, read);
        assertTrue(KitProvider.await(read).isSuccess());
    }
}
