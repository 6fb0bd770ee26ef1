package io.sanswitch.conformance;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaException;

/**
 * The child JVM of the kit's {@code WSAENETDOWN} case, run inside a {@link LinkNamespace}: two
 * providers of the backend named on the command line, a connection between them on the
 * namespace's link address, a receive pending on the client. It says READY, waits for the test to
 * remove the link (a line on stdin), then reports as {@code key=value} lines; after the final
 * cleanup it says CLEANED and waits for a second line (the test may put the link back first, see
 * {@link BackendUnderTest#startsWithoutTheLink()}) before it starts the provider again, reports
 * that and says DONE.
 */
public final class NetworkDownHost {
    private NetworkDownHost() {
    }

    public static void main(String[] args) throws Exception {
        BackendUnderTest backend = backend(args[0]);
        InetAddress address = InetAddress.getByName(args[1]);
        int port = Integer.parseInt(args[2]);
        long waitSeconds = Long.parseLong(args[3]);
        KitProvider a = new KitProvider(backend.newTransport());
        KitProvider b = new KitProvider(backend.newTransport());
        a.startup();
        b.startup();
        InetSocketAddress at = new InetSocketAddress(address, port);
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = b.listen(at, 8, accepts);
        SocketHandle client = a.socket();
        a.engine.bind(client, new InetSocketAddress(address, 0));
        KitSwitch.Event connected = new KitSwitch.Event();
        boolean done = a.startConnect(client, at, connected) == ConnectStatus.CONNECTED;
        AcceptedSocket server = b.accept(listener, accepts, ConditionDecision.CF_ACCEPT);
        if (!done && (!connected.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS)
                || a.engine.enumNetworkEvents(client, connected).errorFor(NetworkEvents.FD_CONNECT_BIT) != null)) {
            System.out.println("connect=failed");
        }
        a.send(client, new byte[] {7}, Overlapped.Mode.POLL);
        System.out.println("crossed=" + (b.receiveExactly(server.socket(), 1, 8)[0] == 7));
        Overlapped pending = a.recv(client, 16, Overlapped.Mode.NOTIFY).overlapped();
        System.out.println("READY");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        in.readLine();
        long removed = System.nanoTime();

        OverlappedResult r = pending.awaitResult(waitSeconds, TimeUnit.SECONDS);
        System.out.println("recv=" + (r == null ? "pending" : r.isSuccess() ? "success" : r.error()));
        System.out.println("detectMillis=" + (System.nanoTime() - removed) / 1_000_000);
        if (r != null) {
            System.out.println("recvUpcalls=" + a.upcalls.settledCompletionsOf(pending));
        }
        System.out.println("sendAfter=" + outcome(() -> a.send(client, new byte[] {8}, Overlapped.Mode.POLL)));
        System.out.println("socketAfter=" + outcome(a::socket));
        try {
            a.engine.cleanup();
            System.out.println("cleanup=ok");
        } catch (WsaException e) {
            System.out.println("cleanup=" + e.error());
        }
        System.out.println("openSockets=" + a.engine.openSockets());
        System.out.println("running=" + a.engine.isRunning());
        System.out.println("recvUpcallsAfterCleanup=" + a.upcalls.completionsOf(pending));
        System.out.println("CLEANED");
        System.out.flush();
        in.readLine();
        System.out.println("restarted=" + outcome(() -> {
            a.startup();
            return a.engine.isRunning();
        }));
        a.close();
        b.close();
        System.out.println("DONE");
        System.out.flush();
        System.exit(0);
    }

    /** A call that may fail with a WSA error. */
    private interface Call {
        Object run() throws WsaException;
    }

    /** What {@code call} returned, or the WSA error it failed with. */
    private static String outcome(Call call) {
        try {
            return String.valueOf(call.run());
        } catch (WsaException e) {
            return String.valueOf(e.error());
        }
    }

    /** The backend's {@code INSTANCE} field, or a new one from its no-argument constructor. */
    private static BackendUnderTest backend(String className) throws ReflectiveOperationException {
        Class<?> c = Class.forName(className);
        try {
            java.lang.reflect.Field f = c.getDeclaredField("INSTANCE");
            f.setAccessible(true);
            return (BackendUnderTest) f.get(null);
        } catch (NoSuchFieldException e) {
            java.lang.reflect.Constructor<?> k = c.getDeclaredConstructor();
            k.setAccessible(true);
            return (BackendUnderTest) k.newInstance();
        }
    }
}
