package io.sanswitch.tcp;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaException;

/**
 * Host A of {@link NetworkNamespaceTest}, run inside its own network namespace: the provider
 * engine over the NIO transport. It exchanges 1 MiB with host B, starts a large transfer, says
 * TRANSFERRING, waits for the test to remove the link (a line on stdin), then reports what
 * happened as {@code key=value} lines and exits.
 */
public final class NetnsEngineHost {
    private NetnsEngineHost() {
    }

    public static void main(String[] args) throws Exception {
        String local = args[0];
        InetSocketAddress peer = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
        KitProvider a = new KitProvider(new NioTransport(1, true));
        a.startup();
        SocketHandle s = a.socket();
        a.engine.bind(s, new InetSocketAddress(local, 0));
        System.out.println("connect=" + a.connect(s, peer));
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        a.send(s, data, Overlapped.Mode.NOTIFY);
        System.out.println("echoed=" + Arrays.equals(data, a.receiveExactly(s, data.length, 1 << 16)));

        Overlapped bigSend = a.send(s, new byte[64 << 20], Overlapped.Mode.NOTIFY);
        Overlapped pendingRecv = a.recv(s, 16, Overlapped.Mode.POLL).overlapped();
        System.out.println("TRANSFERRING");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        long removed = System.nanoTime();

        OverlappedResult sent = KitProvider.await(bigSend);
        System.out.println("send=" + sent.error());
        System.out.println("sendUpcalls=" + a.upcalls.settledCompletionsOf(bigSend));
        System.out.println("detectMillis=" + (System.nanoTime() - removed) / 1_000_000);
        // The receive either got the tail of the echo before the link went, or failed with it.
        OverlappedResult received = KitProvider.await(pendingRecv);
        System.out.println("recv=" + (received.isSuccess() ? "data" : received.error()));
        try {
            a.engine.cleanup();
            System.out.println("cleanup=ok");
        } catch (WsaException e) {
            System.out.println("cleanup=" + e.error());
        }
        System.out.println("openSockets=" + a.engine.openSockets());
        System.out.println("running=" + a.engine.isRunning());
        System.out.println("backendThreads=" + backendThreadsOnceGone());
        System.out.println("DONE");
        System.out.flush();
    }

    /**
     * The backend's threads left: joined one by one (the cleanup has returned, so each is on its
     * way out), bounded, so a thread that stays is counted rather than waited for forever.
     */
    private static long backendThreadsOnceGone() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Thread t : backendThreads()) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        return backendThreads().size();
    }

    private static List<Thread> backendThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("sanswitch-")).toList();
    }
}
