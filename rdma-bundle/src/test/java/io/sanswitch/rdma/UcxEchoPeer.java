package io.sanswitch.rdma;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;

/**
 * The other process of {@link UcxCrossProcessTest}: a provider over its own UCX transport that
 * accepts one connection, exposes a buffer for RDMA (its descriptor is the first message, length
 * first), then echoes every byte until the stream ends, and ends with a final cleanup.
 *
 * <p>Arguments: {@code port transports} ({@code -} for UCX's choice). Prints {@code READY} once
 * listening and {@code DONE <bytes echoed>} at the end.
 */
public final class UcxEchoPeer {
    static final int EXPOSED = 1 << 20;

    private UcxEchoPeer() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String tls = args.length > 1 && !args[1].equals("-") ? args[1] : "";
        ProgressPolicy policy = args.length > 2 ? ProgressPolicy.valueOf(args[2]) : ProgressPolicy.SPIN_THEN_WAKEUP;
        KitProvider p = new KitProvider(new UcxTransport(policy, tls));
        p.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = p.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 4, accepts);
        System.out.println("READY");
        System.out.flush();
        AcceptedSocket accepted = p.accept(listener, accepts, ConditionDecision.CF_ACCEPT);
        SocketHandle s = accepted.socket();

        RdmaBufferDescriptor exposed = p.engine.registerRdmaMemory(s, ByteBuffer.allocateDirect(EXPOSED),
                Winsock.MEM_READWRITE);
        byte[] d = exposed.toBytes();
        byte[] first = ByteBuffer.allocate(4 + d.length).putInt(d.length).put(d).array();
        check(KitProvider.await(p.send(s, first, Overlapped.Mode.NOTIFY)));

        long echoed = 0;
        while (true) {
            KitProvider.Receive r = p.recv(s, 1 << 20, Overlapped.Mode.NOTIFY);
            OverlappedResult got = r.overlapped().awaitResult(1, java.util.concurrent.TimeUnit.HOURS);
            check(got);
            if (got.bytesTransferred() == 0) {
                break; // the client closed gracefully
            }
            check(KitProvider.await(p.send(s, r.bytes(got.bytesTransferred()), Overlapped.Mode.NOTIFY)));
            p.engine.deregisterMemory(s, r.registration());
            echoed += got.bytesTransferred();
        }
        p.close();
        System.out.println("DONE " + echoed);
        System.out.flush();
    }

    private static void check(OverlappedResult r) {
        if (!r.isSuccess()) {
            System.out.println("FAILED " + r);
            System.exit(3);
        }
    }
}
