package io.sanswitch.rdma;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The process {@link HostileClientFuzzTest} attacks: a real provider over UCX that listens,
 * accepts whatever the switch would (every proven request) and echoes each connection until it
 * ends. A crash here is a failed test, not a lost build.
 *
 * <p>Arguments: {@code port handshakeTimeoutMillis}; the shared key in the environment variable
 * {@code SANSWITCH_TEST_KEY}. Prints {@code READY} once listening, {@code ACCEPT-FAILED <error>}
 * for each accept that failed, and {@code DONE} after its final cleanup when its input ends.
 */
public final class RendezvousFuzzTarget {
    private RendezvousFuzzTarget() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Duration timeout = Duration.ofMillis(Long.parseLong(args[1]));
        KitProvider p = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "",
                new RendezvousKey.Source(System.getenv("SANSWITCH_TEST_KEY"), null), timeout));
        p.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = p.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64, accepts);
        Thread acceptor = new Thread(() -> acceptAll(p, listener, accepts), "fuzz target acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
        System.out.println("READY");
        System.out.flush();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
            while (in.readLine() != null) {
                // runs until the test closes its input
            }
        }
        p.close();
        System.out.println("DONE");
        System.out.flush();
    }

    private static void acceptAll(KitProvider p, SocketHandle listener, KitSwitch.Event accepts) {
        while (true) {
            try {
                AcceptedSocket a = p.engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
                Thread echo = new Thread(() -> echo(p, a.socket()), "fuzz target echo");
                echo.setDaemon(true);
                echo.start();
            } catch (WsaException e) {
                if (e.error() == WsaError.WSAEWOULDBLOCK) {
                    try {
                        accepts.await(1, TimeUnit.SECONDS);
                    } catch (InterruptedException stop) {
                        return;
                    }
                } else if (e.error() == WsaError.WSANOTINITIALISED || e.error() == WsaError.WSAENOTSOCK) {
                    return; // the final cleanup ran
                } else {
                    System.out.println("ACCEPT-FAILED " + e.error());
                    System.out.flush();
                }
            }
        }
    }

    private static void echo(KitProvider p, SocketHandle s) {
        try {
            while (true) {
                KitProvider.Receive r = p.recv(s, 1 << 20, Overlapped.Mode.NOTIFY);
                OverlappedResult got = r.overlapped().awaitResult(1, TimeUnit.HOURS);
                if (got == null || !got.isSuccess() || got.bytesTransferred() == 0) {
                    break;
                }
                OverlappedResult sent = KitProvider.await(p.send(s, r.bytes(got.bytesTransferred()), Overlapped.Mode.NOTIFY));
                p.engine.deregisterMemory(s, r.registration());
                if (!sent.isSuccess()) {
                    break;
                }
            }
            p.engine.closeSocket(s);
        } catch (WsaException e) {
            // The test ends this process's input as soon as its peer closed: the final cleanup may
            // then run before this echo's closeSocket, which is not a failure of the echo.
            if (e.error() != WsaError.WSANOTINITIALISED && e.error() != WsaError.WSAENOTSOCK) {
                System.out.println("ECHO-ENDED " + e);
            }
        } catch (InterruptedException | RuntimeException e) {
            System.out.println("ECHO-ENDED " + e);
        }
    }
}
