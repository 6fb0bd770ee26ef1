package io.sanswitch.rdma;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The child JVM of {@link UcxGivenUpRegistrationTest}: rounds of one UCX provider whose memory
 * registration gives up waiting for the progress thread (held by a task meanwhile, the wait made
 * short through {@link UcxTransport#registrationWait(Duration)}), then the progress thread goes on
 * and the final cleanup runs. A mapping the given-up registration left would make
 * {@code ucp_cleanup} abort this JVM; a broken rule ends it with exit status 2. Prints
 * {@code DONE <rounds>} at the end.
 */
public final class GivenUpRegistrationChild {
    private static final Duration SHORT = Duration.ofMillis(50);

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        for (int round = 1; round <= rounds; round++) {
            System.out.println("round " + round);
            System.out.flush();
            String problem = round();
            if (problem != null) {
                System.out.println("FAILED round " + round + ": " + problem);
                System.out.flush();
                System.exit(2);
            }
        }
        System.out.println("DONE " + rounds);
        System.out.flush();
        System.exit(0);
    }

    /** One round; null if every rule held, else what broke. */
    private static String round() throws Exception {
        KitProvider a = new KitProvider(UcxBackend.INSTANCE.newTransport());
        KitProvider b = new KitProvider(UcxBackend.INSTANCE.newTransport());
        try {
            a.startup();
            b.startup();
            KitSwitch.Event accepts = new KitSwitch.Event();
            InetSocketAddress at = Ports.freeLoopback();
            SocketHandle s = a.connectTo(b, b.listen(at, 4, accepts), accepts, at).client();
            UcxTransport ucx = (UcxTransport) a.transport;
            ucx.registrationWait(SHORT);
            long before = ucx.registeredRegions();
            UcxWorkerThread worker = ucx.workerThread();
            CountDownLatch letGo = UcxGivenUpCallTest.hold(worker);
            try {
                a.register(s, ByteBuffer.allocateDirect(1 << 20), Winsock.MEM_READ);
                return "the registration did not give up while the progress thread was held";
            } catch (WsaException e) {
                System.out.println("given up: " + e.error() + " " + e.getMessage());
                if (e.error() != WsaError.WSAENETDOWN && e.error() != WsaError.WSAENOBUFS) {
                    return "the registration failed with " + e.error() + ", not for the wait: " + e.getMessage();
                }
            } finally {
                letGo.countDown();
            }
            worker.call(() -> null); // tasks run in order: the given-up registration had its turn
            long left = ucx.registeredRegions() - before;
            System.out.println("regions mapped after the given-up registration had its turn: " + left);
            System.out.flush();
            a.engine.cleanup(); // ucp_cleanup: UCX aborts the process on a mapping left in its cache
            return left == 0 ? null : left + " regions mapped by the given-up registration";
        } finally {
            a.close();
            b.close();
        }
    }
}
