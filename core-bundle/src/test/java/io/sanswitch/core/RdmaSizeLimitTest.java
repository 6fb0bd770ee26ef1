package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportCapabilities;

/**
 * docs/rules.md ERR-rdma-size: the engine holds RDMA transfers to the backend's
 * {@code SO_MAX_RDMA_SIZE}. Engine logic only (neither real backend has a limit today), so on the
 * scripted transport with one.
 */
class RdmaSizeLimitTest extends EngineTestSupport {
    private static final int LIMIT = 4096;

    RdmaSizeLimitTest() {
        transport = new ScriptedTransport(new TransportCapabilities(true, true, 0, LIMIT, 1024));
        upcalls = new RecordingSwitch(transport);
        engine = newEngine(transport);
    }

    @Test
    @Checks({"ERR-rdma-size", "OV-failed-call", "RD-options"})
    void rdmaWritesAndReadsAboveTheLimitFailWithWsaEMsgSizeAndStartNothing() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        assertEquals(LIMIT, engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE));
        RdmaBufferDescriptor remote = engine.registerRdmaMemory(s, ByteBuffer.allocate(4 * LIMIT), Winsock.MEM_READWRITE);
        MemoryHandle local = engine.registerMemory(s, ByteBuffer.allocate(2 * LIMIT), Winsock.MEM_READWRITE);

        Overlapped atLimit = Overlapped.notifying(null);
        engine.rdmaWrite(s, new WsaBuf[] {new WsaBuf(local, 0, LIMIT)}, remote, 0, 0, atLimit);
        assertTrue(atLimit.isInProgress(), "a write of exactly the limit is posted");

        Overlapped tooBig = Overlapped.notifying(null);
        assertWsa(WsaError.WSAEMSGSIZE,
                () -> engine.rdmaWrite(s, new WsaBuf[] {new WsaBuf(local, 0, LIMIT + 1)}, remote, 0, 0, tooBig));
        // The limit is on the transfer, not on each buffer of it.
        assertWsa(WsaError.WSAEMSGSIZE, () -> engine.rdmaRead(s,
                new WsaBuf[] {new WsaBuf(local, 0, LIMIT), new WsaBuf(local, LIMIT, 1)}, remote, 0, 0, tooBig));
        assertFalse(tooBig.isInProgress(), "the refused transfers started nothing");
        assertEquals(1, engine.pendingOperations(), "only the write at the limit is pending");
        assertEquals(0, upcalls.completions.size(), "no completion for a refused transfer");
    }
}
