package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportCapabilities;

/**
 * docs/rules.md SW-close-off-io: a provider's closeSocket that blocks (as UCX's waits for its peer to
 * acknowledge each exposed region's revocation) holds no other connection of the switch. As many
 * closes block as the switch has io threads; a connection made meanwhile still connects, sends and
 * receives, and the closed ones end in order once their closes return.
 */
@Timeout(60)
class SwitchCloseOffIoTest {
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

    private final ScriptedTransport tcp = new ScriptedTransport(TransportCapabilities.streamOnly());
    private final ProviderEngine engine = new ProviderEngine(tcp);
    private final CountDownLatch peerAcknowledges = new CountDownLatch(1);
    private final AtomicInteger closesWaiting = new AtomicInteger();
    private Switch sw;

    @AfterEach
    void stop() {
        peerAcknowledges.countDown();
        if (sw != null) {
            sw.deactivate();
        }
    }

    @Test
    @Checks("SW-close-off-io")
    void aCloseThatWaitsForItsPeerHoldsNoOtherConnection() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(engine, Map.of("sanswitch.transport", "tcp"));
        int ownSockets = sw.statistics().totalProviderSockets();
        int ioThreads = sw.settings().ioThreads();
        List<SwitchSocket> closing = new ArrayList<>();
        List<ScriptedTransport.ScriptedSocket> closingWires = new ArrayList<>();
        for (int i = 0; i < ioThreads; i++) {
            closing.add(connect());
            closingWires.add(tcp.sockets.get(tcp.sockets.size() - 1));
        }
        tcp.insideClose = s -> {
            closesWaiting.incrementAndGet();
            try {
                peerAcknowledges.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };

        closing.forEach(SwitchSocket::close);
        Eventually.until("every close waits for its peer", () -> closesWaiting.get() == ioThreads);

        // While they wait: a new connection connects (its start is a task on the io threads), sends and receives.
        SwitchSocket other = connect();
        ScriptedTransport.ScriptedSocket wire = tcp.sockets.get(tcp.sockets.size() - 1);
        CompletableFuture<Integer> sent = other.send(ByteBuffer.wrap(new byte[] {1, 2, 3})).toCompletableFuture();
        PostedOperation send = awaitHeld(wire, PostedOperation.Kind.SEND);
        wire.held.remove(send);
        tcp.events.operationCompleted(send, send.length());
        assertEquals(3, sent.get(10, TimeUnit.SECONDS));

        ByteBuffer into = ByteBuffer.allocate(8);
        CompletableFuture<Integer> received = other.receive(into).toCompletableFuture();
        PostedOperation recv = awaitHeld(wire, PostedOperation.Kind.RECV);
        recv.buffers()[0].duplicate().put(new byte[] {4, 5});
        wire.held.remove(recv);
        tcp.events.operationCompleted(recv, 2);
        assertEquals(2, received.get(10, TimeUnit.SECONDS), "the other connection's receive completed");
        assertEquals(4, into.get(0));

        // The peers acknowledge: the closes return and the connections end as a close ends them.
        peerAcknowledges.countDown();
        Eventually.until("the closed connections' sockets ended in order",
                () -> closingWires.stream().allMatch(w -> "closeGracefully".equals(w.endedBy)));
        Eventually.until("only the other connection's socket is left",
                () -> sw.statistics().totalProviderSockets() == ownSockets + 1);
        for (SwitchSocket s : closing) {
            assertFalse(s.isOpen());
            assertEquals(WsaError.WSAENOTSOCK, failure(s.send(ByteBuffer.wrap(new byte[] {1})).toCompletableFuture()));
        }
        assertTrue(other.isOpen());
        assertEquals(1, sw.statistics().connections());
    }

    /**
     * A close still running when the switch stops: the io threads are gone by the time it returns, and
     * the application's receive lent to the provider still fails, not left waiting.
     */
    @Test
    @Checks("SW-close-off-io")
    void aReceiveLentWhenTheSwitchStopsFailsOnceTheCloseReturnedAfterTheIoThreads() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(engine, Map.of("sanswitch.transport", "tcp"));
        SwitchSocket s = connect();
        ScriptedTransport.ScriptedSocket wire = tcp.sockets.get(tcp.sockets.size() - 1);
        CompletableFuture<Integer> pending = s.receive(ByteBuffer.allocateDirect(16)).toCompletableFuture();
        awaitHeld(wire, PostedOperation.Kind.RECV); // lent to the provider
        tcp.insideClose = w -> {
            try {
                Eventually.until("the switch's io threads ended", () -> Thread.getAllStackTraces().keySet().stream()
                        .noneMatch(t -> t.isAlive() && t.getName().startsWith("sanswitch-switch-io-")));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };

        sw.deactivate();
        assertInstanceOf(WsaException.class, assertThrows(ExecutionException.class,
                () -> pending.get(10, TimeUnit.SECONDS)).getCause(), "the lent receive failed");
    }

    private SwitchSocket connect() throws Exception {
        return sw.connectAsync(PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static PostedOperation awaitHeld(ScriptedTransport.ScriptedSocket wire, PostedOperation.Kind kind)
            throws InterruptedException {
        return Eventually.value("the switch posts a " + kind, () -> wire.held.stream().filter(op -> op.kind() == kind).findFirst());
    }

    private static WsaError failure(CompletableFuture<Integer> op) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> op.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }
}
