package io.sanswitch.rdma;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.MigrationSettings;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.tcp.NioTransport;

/**
 * The other process of {@link SwitchPeerDeathTest}: a switch with a UCX and a NIO TCP provider and
 * {@code migrate} on (unless {@value #MIGRATE} is false), one connection pinned to ucx, whose bytes it echoes.
 *
 * <pre>SwitchMovePeer RESUME_TIMEOUT_MS server
 * SwitchMovePeer RESUME_TIMEOUT_MS client PORT</pre>
 *
 * <p>Lines out: {@code PORT p} (server: listening), {@code CONNECTED provider} (the connection is
 * made), {@code EOF echoed} (the stream ended, echoed bytes), {@code FAILED reason}. Commands in, one
 * a line, each answered once done: {@code hold} (the echo stops after its current receive and keeps
 * those bytes: {@code HOLDING}), {@code withdraw} (the UCX provider goes as a bundle stop takes it:
 * {@code WITHDRAWN}), {@code provider} ({@code PROVIDER name echoed}), {@code quit}.
 */
public final class SwitchMovePeer {
    private static final int ECHO_BYTES = 256 * 1024;
    /** {@code -Dsanswitch.peer.migrate=false}: the switch does not migrate. */
    static final String MIGRATE = "sanswitch.peer.migrate";

    private final AtomicLong echoed = new AtomicLong();
    private volatile boolean hold;

    public static void main(String[] args) throws Exception {
        try {
            new SwitchMovePeer().run(args);
        } catch (Throwable t) {
            say("FAILED " + String.valueOf(t).replace('\n', ' '));
            t.printStackTrace();
        }
        System.out.flush();
        System.exit(0);
    }

    private void run(String[] args) throws Exception {
        // A test JVM that dies leaves no child behind, even one still waiting for its connection.
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(2)));
        Duration resumeTimeout = Duration.ofMillis(Long.parseLong(args[0]));
        boolean migrate = !"false".equals(System.getProperty(MIGRATE));
        Switch sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8").withMigration(
                MigrationSettings.defaults().withMigrate(migrate).withResumeTimeout(resumeTimeout)));
        ProviderEngine ucx = new ProviderEngine(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        ProviderEngine tcp = new ProviderEngine(new NioTransport(1, true));
        sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
        sw.bindProvider(ucx, Map.of("sanswitch.transport", "ucx"));
        InetAddress loopback = InetAddress.getLoopbackAddress();
        SwitchSocket socket;
        SwitchServerSocket listener = null;
        if (args[1].equals("server")) {
            listener = sw.listen(new InetSocketAddress(loopback, 0), 4);
            say("PORT " + listener.localAddress().getPort());
            socket = listener.accept();
        } else {
            socket = sw.connect(new InetSocketAddress(loopback, Integer.parseInt(args[2])), "ucx");
        }
        say("CONNECTED " + socket.provider());
        Thread echo = new Thread(() -> echo(socket), "echo");
        echo.setDaemon(true);
        echo.start();
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = commands.readLine()) != null && !line.equals("quit");) {
            switch (line.trim()) {
                case "hold" -> {
                    hold = true;
                    say("HOLDING");
                }
                case "withdraw" -> {
                    // What a bundle stop does: the provider's service goes, the switch withdraws it.
                    sw.unbindProvider(ucx);
                    say("WITHDRAWN");
                }
                case "provider" -> say("PROVIDER " + socket.provider() + " " + echoed.get());
                default -> say("FAILED unknown command " + line);
            }
        }
        socket.close();
        if (listener != null) {
            listener.close();
        }
        sw.deactivate();
    }

    /** Sends back what arrives, one receive and its send at a time, until the end, a failure or {@code hold}. */
    private void echo(SwitchSocket socket) {
        ByteBuffer b = ByteBuffer.allocateDirect(ECHO_BYTES);
        try {
            while (true) {
                b.clear();
                int n = socket.receive(b).toCompletableFuture().get(60, TimeUnit.SECONDS);
                if (n < 0) {
                    say("EOF " + echoed.get());
                    socket.close();
                    return;
                }
                if (hold) {
                    return; // these bytes stay here: the peer's receive waits for them
                }
                b.flip();
                while (b.hasRemaining()) {
                    socket.send(b).toCompletableFuture().get(60, TimeUnit.SECONDS);
                }
                echoed.addAndGet(n);
            }
        } catch (Exception e) {
            say("FAILED echo after " + echoed.get() + ": " + String.valueOf(e).replace('\n', ' '));
        }
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
