package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * A peer that closes its socket takes nothing more: a large message goes by rendezvous, so a send
 * it never took would otherwise wait for ever. Such sends fail with a reset, as TCP answers data
 * for a closed socket, while what the peer sent before closing is still received, then the end.
 */
class UcxPeerCloseTest extends KitTestBase {

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    @Test
    @io.sanswitch.testing.Checks("SK-peer-reset")
    void sendsThePeerNeverTookFailWithAResetOnceItClosedAndItsLastDataStillArrives() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);

        Overlapped untaken = a.send(p.client(), new byte[1 << 20], Overlapped.Mode.NOTIFY);
        byte[] last = "last words".getBytes();
        KitProvider.Receive lastReceive = a.recv(p.client(), 64, Overlapped.Mode.POLL);
        // A send completes once the peer took it (rendezvous); closeSocket would abort it before.
        assertTrue(KitProvider.await(b.send(p.server(), last, Overlapped.Mode.NOTIFY)).isSuccess());
        b.engine.closeSocket(p.server());

        OverlappedResult r = KitProvider.await(untaken);
        assertEquals(WsaError.WSAECONNRESET, r.error(), "a send the closed peer never took");
        WsaError later;
        try {
            later = KitProvider.await(a.send(p.client(), new byte[8], Overlapped.Mode.POLL)).error();
        } catch (WsaException e) {
            later = e.error();
        }
        assertEquals(WsaError.WSAECONNRESET, later, "a send after the peer closed");
        OverlappedResult got = KitProvider.await(lastReceive.overlapped());
        assertArrayEquals(last, lastReceive.bytes(got.bytesTransferred()), "what the peer sent before closing");
        OverlappedResult end = KitProvider.await(a.recv(p.client(), 64, Overlapped.Mode.NOTIFY).overlapped());
        assertTrue(end.isSuccess(), end.toString());
        assertEquals(0, end.bytesTransferred(), "then the end of the stream");
    }
}
