package io.sanswitch.rdma;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

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
 * The child JVM of {@link UcxCloseInUpcallTest}: rounds of two UCX providers in this JVM connected
 * over shared memory, one side posting {@link #SENDS} sends of 64 KiB to 1 MiB while the other posts
 * its receives slowly (so UCX queues sends on the shared-memory lane), and a completion upcall of
 * one side calling {@code closeSocket} on its own socket, as a switch does when it runs a completion
 * inline (docs/rules.md LC-reentrant: SPI calls are allowed from inside an upcall). The upcall is
 * made on the provider's UCX progress thread, inside {@code ucp_worker_progress}. A UCX abort kills
 * this JVM; a broken rule ends it with exit status 2. Prints {@code DONE <rounds>} at the end.
 *
 * <p>Arguments: rounds, and which upcall closes: {@code send} (the sender's, in a send completion)
 * or {@code recv} (the receiver's, in a receive completion).
 */
public final class CloseInUpcallChild {
    private static final int SENDS = Integer.getInteger("closeInUpcall.sends", 64);
    private static final int MIN = 64 << 10;
    private static final int MAX = 1 << 20;
    /** The completion upcall (counted from 1) that closes its socket. */
    private static final int CLOSE_AT = Integer.getInteger("closeInUpcall.at", 4);

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        boolean inSend = !"recv".equals(args.length > 1 ? args[1] : "send");
        int requestsAtStart = UcxNative.pendingRequests();
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int round = 1; round <= rounds; round++) {
            System.out.println("round " + round);
            System.out.flush();
            String problem = round(inSend, outcomes);
            int requests = UcxNative.pendingRequests();
            if (problem == null && requests != requestsAtStart) {
                problem = "UCX requests registered: " + requests + ", at the start " + requestsAtStart;
            }
            if (problem != null) {
                System.out.println("FAILED round " + round + ": " + problem);
                System.out.flush();
                System.exit(2);
            }
        }
        System.out.println("outcomes " + outcomes);
        System.out.println("DONE " + rounds);
        System.out.flush();
        System.exit(0);
    }

    /**
     * The kit's switch, and a hook for completion upcalls: the switch of a test side that runs
     * code inline in the upcall.
     */
    static final class HookedSwitch implements UpcallTable {
        final KitSwitch kit;
        volatile Hook hook;

        interface Hook {
            void completed(Overlapped ov, OverlappedResult result);
        }

        HookedSwitch(KitSwitch kit) {
            this.kit = kit;
        }

        @Override
        public long createSocketHandle(SocketHandle providerSocket) {
            return kit.createSocketHandle(providerSocket);
        }

        @Override
        public void closeSocketHandle(long switchHandle) {
            kit.closeSocketHandle(switchHandle);
        }

        @Override
        public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
            kit.completeOverlappedRequest(switchHandle, overlapped, result);
            Hook h = hook;
            if (h != null) {
                h.completed(overlapped, result);
            }
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

    record Posted(KitProvider by, Overlapped ov, String what) {
    }

    /** One round; null if every rule held, else what broke. */
    private static String round(boolean inSend, Map<String, Integer> outcomes) throws Exception {
        KitProvider a = new KitProvider(UcxBackend.INSTANCE.newTransport());
        KitProvider b = new KitProvider(UcxBackend.INSTANCE.newTransport());
        HookedSwitch aSwitch = new HookedSwitch(a.upcalls);
        HookedSwitch bSwitch = new HookedSwitch(b.upcalls);
        try {
            a.engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, aSwitch);
            b.engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, bSwitch);
            KitSwitch.Event accepts = new KitSwitch.Event();
            InetSocketAddress at = Ports.freeLoopback();
            SocketHandle listener = b.listen(at, 4, accepts);
            KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
            KitProvider closer = inSend ? a : b;
            SocketHandle closing = inSend ? p.client() : p.server();
            HookedSwitch closerSwitch = inSend ? aSwitch : bSwitch;
            String kind = inSend ? "send" : "recv";

            AtomicInteger seen = new AtomicInteger();
            AtomicBoolean closed = new AtomicBoolean();
            AtomicReference<String> closeProblem = new AtomicReference<>();
            AtomicReference<String> closeThread = new AtomicReference<>();
            Map<Overlapped, String> kinds = new ConcurrentHashMap<>();
            closerSwitch.hook = (ov, result) -> {
                if (!kind.equals(kinds.get(ov)) || !result.isSuccess() || seen.incrementAndGet() < CLOSE_AT
                        || !closed.compareAndSet(false, true)) {
                    return;
                }
                closeThread.set(Thread.currentThread().getName());
                try {
                    closer.engine.closeSocket(closing);
                } catch (WsaException e) {
                    closeProblem.set("closeSocket in the upcall: " + e);
                }
            };

            // Every buffer registered before the first transfer: a registration is a call on the
            // socket that waits for the progress thread, and closeSocket in the upcall (on that
            // thread) would wait for it to end (docs/rules.md LC-race): both would stall 10 s.
            ThreadLocalRandom random = ThreadLocalRandom.current();
            List<MemoryHandle> sendBuffers = new ArrayList<>();
            List<MemoryHandle> receiveBuffers = new ArrayList<>();
            for (int i = 0; i < SENDS; i++) {
                int length = MIN + random.nextInt(MAX - MIN + 1);
                sendBuffers.add(a.register(p.client(), ByteBuffer.allocateDirect(length), Winsock.MEM_READ));
                receiveBuffers.add(b.register(p.server(), ByteBuffer.allocateDirect(MAX), Winsock.MEM_WRITE));
            }
            List<Posted> posted = new ArrayList<>();
            // The receiving side posts its receives after the sends, slowly, so the sends queue up in UCX.
            for (MemoryHandle m : sendBuffers) {
                Overlapped ov = Overlapped.notifying(null);
                kinds.put(ov, "send");
                try {
                    a.engine.send(p.client(), new WsaBuf[] {WsaBuf.of(m)}, 0, ov);
                } catch (WsaException e) {
                    if (inSend && closed.get()) {
                        break; // closed by the upcall meanwhile
                    }
                    throw e;
                }
                posted.add(new Posted(a, ov, "send"));
            }
            for (int i = 0; i < SENDS; i++) {
                Overlapped ov = Overlapped.notifying(null);
                kinds.put(ov, "recv");
                try {
                    b.engine.recv(p.server(), new WsaBuf[] {WsaBuf.of(receiveBuffers.get(i))}, ov);
                } catch (WsaException e) {
                    if (!inSend && closed.get()) {
                        break;
                    }
                    throw e;
                }
                posted.add(new Posted(b, ov, "recv"));
                if (i % 8 == 7) {
                    Thread.sleep(1); // slow to take them: the sender's lane stays full
                }
            }
            // The peer's operations are not waited for: its sends that the closing side never took,
            // and its receives, end at the latest with its final cleanup below.
            for (Posted x : posted) {
                if (x.by() == closer && x.ov().awaitResult(20, TimeUnit.SECONDS) == null) {
                    return x.what() + " of the closing side never completed";
                }
            }
            if (!closed.get()) {
                return "no " + kind + " completion closed the socket (" + seen.get() + " completions)";
            }
            if (closeProblem.get() != null) {
                return closeProblem.get();
            }
            if (!closeThread.get().startsWith("sanswitch-ucx-progress")) {
                return "the upcall came on " + closeThread.get() + ", not on the UCX progress thread";
            }
            a.engine.cleanup();
            b.engine.cleanup();
            for (Posted x : posted) {
                OverlappedResult r = x.ov().awaitResult(20, TimeUnit.SECONDS);
                if (r == null) {
                    return x.what() + " never completed";
                }
                String outcome = (x.by() == closer ? "closer " : "peer ") + x.what() + ":"
                        + (r.isSuccess() ? "ok" : r.error());
                outcomes.merge(outcome, 1, Integer::sum);
                if (x.by() == closer && !r.isSuccess() && r.error() != WsaError.WSA_OPERATION_ABORTED) {
                    return "the closing side's " + x.what() + " ended with " + r.error();
                }
                int upcalls = x.by().upcalls.settledCompletionsOf(x.ov());
                if (upcalls != 1) {
                    return x.what() + " completed " + upcalls + " times";
                }
            }
            if (a.engine.openSockets() != 0 || b.engine.openSockets() != 0) {
                return "sockets left after the final cleanups";
            }
            return null;
        } finally {
            a.close();
            b.close();
        }
    }
}
