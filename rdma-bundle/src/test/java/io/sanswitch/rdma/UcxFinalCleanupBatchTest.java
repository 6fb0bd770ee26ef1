package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The final cleanup over real UCX hands the backend every pending operation in one batch: each operation still completes exactly once, with
 * {@code WSA_OPERATION_ABORTED}, each socket's in posting order (a send UCX holds included,
 * which only the endpoint's forced close ends), every registration and socket is released, and the
 * provider starts again at once. A cancel per operation was a hop to the worker thread each, and
 * every hop a progress round that pumps every receiving socket: the cleanup grew with sockets times
 * operations.
 */
@Timeout(120)
class UcxFinalCleanupBatchTest {
    private static final int SOCKETS = 3;
    private static final int RECEIVES_PER_SOCKET = 20;

    @Test
    void everyOperationIsAbortedOnceInPostingOrderWithWorkerHopsThatDoNotGrowWithTheOperations() throws Exception {
        UcxTransport clientTransport = new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "");
        KitProvider a = new KitProvider(clientTransport);
        KitProvider b = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        b.startup();
        a.startup();
        // The provider upcalls its most recent table: this one records the completions' order.
        List<Overlapped> completed = new CopyOnWriteArrayList<>();
        a.engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, new Recording(a.upcalls, completed));
        try {
            InetSocketAddress at = Ports.freeLoopback();
            KitSwitch.Event accepts = new KitSwitch.Event();
            SocketHandle listener = b.listen(at, 8, accepts);
            List<List<Overlapped>> posted = new ArrayList<>();
            Overlapped heldSend = null;
            for (int i = 0; i < SOCKETS; i++) {
                SocketHandle s = a.connectTo(b, listener, accepts, at).client();
                // One registration per socket, shared by its receives, as the switch's blocks are.
                MemoryHandle m = a.engine.registerMemory(s, ByteBuffer.allocateDirect(64), Winsock.MEM_WRITE);
                List<Overlapped> ofSocket = new ArrayList<>();
                for (int j = 0; j < RECEIVES_PER_SOCKET; j++) {
                    if (i == 0 && j == RECEIVES_PER_SOCKET / 2) {
                        // The peer posts no receive: the send stays inside UCX until the forced close.
                        heldSend = a.send(s, new byte[1 << 20], Overlapped.Mode.NOTIFY);
                        ofSocket.add(heldSend);
                    }
                    Overlapped ov = Overlapped.notifying(null);
                    a.engine.recv(s, new WsaBuf[] {WsaBuf.of(m)}, ov);
                    ofSocket.add(ov);
                }
                posted.add(ofSocket);
            }
            int operations = posted.stream().mapToInt(List::size).sum();
            assertEquals(operations, a.engine.pendingOperations(), "nothing completed before the cleanup");
            a.engine.cleanup(); // the first startup's: not the final one
            long hopsBefore = clientTransport.workerHops();
            long regionsBefore = clientTransport.registeredRegions();

            a.engine.cleanup();

            long hops = clientTransport.workerHops() - hopsBefore;
            for (List<Overlapped> ofSocket : posted) {
                for (Overlapped ov : ofSocket) {
                    OverlappedResult r = ov.result();
                    assertEquals(WsaError.WSA_OPERATION_ABORTED, r == null ? null : r.error(), "result of " + ov
                            + (ov == heldSend ? " (the send UCX held)" : ""));
                    assertEquals(1, a.upcalls.completionsOf(ov), "completion upcalls of " + ov);
                }
            }
            for (List<Overlapped> ofSocket : posted) {
                assertEquals(ofSocket, completed.stream().filter(ofSocket::contains).toList(),
                        "a socket's operations complete in posting order");
            }
            assertEquals(operations, completed.size(), "completion upcalls");
            assertEquals(0, clientTransport.registeredRegions(), "registrations left in UCX (had " + regionsBefore + ")");
            assertEquals(0, clientTransport.openSockets(), "UCX sockets left: " + clientTransport.describeSockets());
            // Per operation this was one hop each plus the sockets' own; now one batch for the
            // cancels, one deregistration per registration and two per socket for the resets.
            assertTrue(hops > 0 && hops < operations / 2, hops + " worker hops for a final cleanup of " + operations
                    + " operations on " + SOCKETS + " sockets");

            a.startup(); // startupEx works again at once
            SocketHandle again = a.socket();
            a.engine.closeSocket(again);
        } finally {
            if (a.engine.isRunning()) {
                a.engine.cleanup();
            }
            b.engine.cleanup();
        }
    }

    /** The kit's switch, and the order of completion upcalls. */
    private record Recording(KitSwitch kit, List<Overlapped> completed) implements UpcallTable {
        @Override
        public long createSocketHandle(SocketHandle providerSocket) throws WsaException {
            return kit.createSocketHandle(providerSocket);
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
            kit.closeSocketHandle(switchHandle);
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
            completed.add(overlapped);
            kit.completeOverlappedRequest(switchHandle, overlapped, result);
        }

        @Override
        public void setEvent(EventHandle event) {
            kit.setEvent(event);
        }

        @Override
        public void resetEvent(EventHandle event) {
            kit.resetEvent(event);
        }
    }
}
