package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;

/**
 * The switch's fast path over the real NIO backend (issue 12): a receive the peer's bytes complete is
 * completed on the provider's selector thread, with no hop to a switch thread, and an application
 * driven from its stages' continuations (as on an event loop) runs its ping-pong on that thread,
 * in order, without nesting without bound.
 */
@Timeout(60)
class SwitchCompletionThreadOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final String SELECTOR_THREAD = "sanswitch-tcp-";

    private ProviderEngine tcp;
    private Switch sw;
    private SwitchServerSocket listener;
    private SwitchSocket client;
    private SwitchSocket server;

    @BeforeEach
    void aConnectionOverNio() throws Exception {
        tcp = new ProviderEngine(new NioTransport(1, true));
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(tcp, Map.of("sanswitch.transport", "tcp"));
        listener = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4);
        CompletableFuture<SwitchSocket> accepted = listener.acceptAsync().toCompletableFuture();
        client = sw.connect(listener.localAddress());
        server = accepted.get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        sw.deactivate();
        assertFalse(tcp.isRunning(), "the switch matched its startup");
    }

    @Test
    void aReceiveThePeersBytesCompleteIsCompletedOnTheSelectorThread() throws Exception {
        List<String> seen = new ArrayList<>();
        // The connection must be idle when the bytes come; just after the accept its queue may still be
        // finishing the start on a switch thread, so a first round may hop. Later ones do not.
        for (int round = 0; round < 20; round++) {
            AtomicReference<Thread> on = new AtomicReference<>();
            CompletableFuture<Integer> receive = server.receive(ByteBuffer.allocate(8)).toCompletableFuture()
                    .whenComplete((n, e) -> on.set(Thread.currentThread()));
            client.send(ByteBuffer.wrap(new byte[] {(byte) round})).toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(1, receive.get(10, TimeUnit.SECONDS));
            String name = on.get().getName();
            seen.add(name);
            assertTrue(name.startsWith(SELECTOR_THREAD) || name.startsWith("sanswitch-switch-io-"), seen.toString());
            if (name.startsWith(SELECTOR_THREAD)) {
                return;
            }
        }
        throw new AssertionError("no receive completed on the selector thread: " + seen);
    }

    @Test
    void aPingPongDrivenFromContinuationsRunsOnTheSelectorThreadInOrder() throws Exception {
        int rounds = 2_000;
        AtomicInteger onSelector = new AtomicInteger();
        CompletableFuture<Void> echoed = new CompletableFuture<>();
        echo(ByteBuffer.allocateDirect(4), echoed);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        ping(0, rounds, ByteBuffer.allocateDirect(4), onSelector, done);

        assertEquals(rounds, done.get(30, TimeUnit.SECONDS), "every round came back, in order");
        client.close();
        echoed.get(10, TimeUnit.SECONDS);
        assertTrue(onSelector.get() > rounds / 2,
                "most replies were handled on the selector thread: " + onSelector + " of " + rounds);
    }

    /** The server: receive four bytes, send them back, from the completions, until the end of the stream. */
    private void echo(ByteBuffer b, CompletableFuture<Void> ended) {
        b.clear();
        server.receive(b).whenComplete((n, e) -> {
            if (e != null || n < 0) {
                ended.complete(null);
                return;
            }
            if (b.hasRemaining()) {
                echoMore(b, ended);
            } else {
                sendBack(b, ended);
            }
        });
    }

    private void echoMore(ByteBuffer b, CompletableFuture<Void> ended) {
        server.receive(b).whenComplete((n, e) -> {
            if (e != null || n < 0) {
                ended.complete(null);
            } else if (b.hasRemaining()) {
                echoMore(b, ended);
            } else {
                sendBack(b, ended);
            }
        });
    }

    private void sendBack(ByteBuffer b, CompletableFuture<Void> ended) {
        b.flip();
        server.send(b).whenComplete((sent, f) -> {
            if (f != null) {
                ended.completeExceptionally(f);
            } else {
                echo(b, ended);
            }
        });
    }

    /** The client: round {@code i} sends i, then receives four bytes that must be i, then the next round. */
    private void ping(int i, int rounds, ByteBuffer b, AtomicInteger onSelector, CompletableFuture<Integer> done) {
        if (i == rounds) {
            done.complete(i);
            return;
        }
        b.clear().putInt(i).flip();
        client.send(b).whenComplete((sent, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
                return;
            }
            b.clear();
            receiveReply(i, rounds, b, onSelector, done);
        });
    }

    private void receiveReply(int i, int rounds, ByteBuffer b, AtomicInteger onSelector, CompletableFuture<Integer> done) {
        client.receive(b).whenComplete((n, e) -> {
            if (e != null || n < 0) {
                done.completeExceptionally(e != null ? e : new AssertionError("end of stream in round " + i));
                return;
            }
            if (b.hasRemaining()) {
                receiveReply(i, rounds, b, onSelector, done);
                return;
            }
            if (Thread.currentThread().getName().startsWith(SELECTOR_THREAD)) {
                onSelector.incrementAndGet();
            }
            int got = b.flip().getInt();
            if (got != i) {
                done.completeExceptionally(new AssertionError("round " + i + " came back as " + got));
                return;
            }
            ping(i + 1, rounds, b, onSelector, done);
        });
    }
}
