package io.sanswitch.core;

import static io.sanswitch.core.ScriptedWire.idFrame;
import static io.sanswitch.core.ScriptedWire.join;
import static io.sanswitch.core.ScriptedWire.writeReq;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchInternals;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.PostedOperation;

/**
 * docs/rules.md SW-close-off-io: a block buffer a connection's pool drops is deregistered off the
 * switch's io threads. In the write flow the pool's buffers are exposed to the peer at the peer's
 * block lengths, and over UCX the deregistration of an exposure waits for the peer to acknowledge its
 * revocation (up to 5 s, RD-access). Here one hostile peer per io thread varies its lengths until its
 * connection's pool drops a buffer, and never acknowledges (the scripted provider's deregistration
 * waits on a latch): a connection made meanwhile still connects, sends and receives, the hostile
 * connections still take blocks, and the buffer being deregistered is never exposed again. A
 * connection's close waits behind its own deregistrations on one close thread, and the buffers
 * waiting for theirs are bounded: at the pool's bound the connection reads none of the peer's frames.
 */
@Timeout(60)
class SwitchBlockReleaseOffIoTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final byte[] PEER_HELLO = {5, 1, 0};
    /**
     * Blocks of 1, 2, … bytes, one buffer each: once the application took them all, one more than the 8
     * free buffers a pool keeps (BlockPool.MAX_FREE), so the oldest, of 1 byte, is dropped.
     */
    private static final int BLOCKS = 9;

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ProviderEngine engine = new ProviderEngine(rdma);
    private final CountDownLatch peerAcknowledges = new CountDownLatch(1);
    /** The threads the exposures' deregistrations wait on, and the buffers they release. */
    private final List<String> waitingOn = new CopyOnWriteArrayList<>();
    private final List<ByteBuffer> dropped = new CopyOnWriteArrayList<>();
    private final AtomicInteger deregistered = new AtomicInteger();
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
    void aDeregistrationThatWaitsForItsPeerHoldsNoOtherConnection() throws Exception {
        start();
        int ioThreads = sw.settings().ioThreads();
        List<ScriptedTransport.ScriptedSocket> hostile = new ArrayList<>();
        List<CompletableFuture<Integer>> taken = new ArrayList<>();
        for (int i = 0; i < ioThreads; i++) {
            SwitchSocket s = connect();
            hostile.add(lastWire());
            taken.addAll(peerMakesThePoolDropABuffer(s, lastWire()));
        }
        Eventually.until("each hostile connection's dropped buffer waits for its peer", () -> waitingOn.size() == ioThreads);

        // While they wait: a new connection connects (its start is a task on the io threads), sends and receives.
        SwitchSocket other = connect();
        ScriptedTransport.ScriptedSocket wire = lastWire();
        completeSend(wire); // our HELLO
        CompletableFuture<Integer> received = other.receive(ByteBuffer.allocate(8)).toCompletableFuture();
        PostedOperation recv = filled(wire, join(PEER_HELLO, new byte[] {1, 0, 0, 0, 2, 4, 5}));
        rdma.events.operationCompleted(recv, PEER_HELLO.length + 7);
        assertEquals(2, received.get(10, TimeUnit.SECONDS), "the other connection's receive completed");
        CompletableFuture<Integer> sent = other.send(ByteBuffer.wrap(new byte[] {7, 8, 9})).toCompletableFuture();
        assertArrayEquals(new byte[] {1, 0, 0, 0, 3, 7, 8, 9}, completeSend(wire), "DATA");
        assertEquals(3, sent.get(10, TimeUnit.SECONDS));
        assertTrue(waitingOn.stream().allMatch(t -> t.startsWith("sanswitch-switch-close-")), "waiting on " + waitingOn);
        for (CompletableFuture<Integer> t : taken) {
            assertTrue(t.get(10, TimeUnit.SECONDS) > 0, "the application took every block");
        }
        assertTrue(dropped.stream().allMatch(b -> b.capacity() == 1), "the oldest free buffer is dropped");

        // The hostile connections still take blocks: one of the dropped buffer's length gets a new one.
        int exposedBefore = exposures().size();
        for (ScriptedTransport.ScriptedSocket h : hostile) {
            PostedOperation more = filled(h, writeReq(BLOCKS + 1, 1));
            rdma.events.operationCompleted(more, 9);
        }
        Eventually.until("each hostile connection exposes a target for its next block",
                () -> exposures().size() == exposedBefore + ioThreads);
        List<ByteBuffer> fresh = exposures().subList(exposedBefore, exposedBefore + ioThreads);
        assertTrue(fresh.stream().noneMatch(b -> dropped.stream().anyMatch(d -> d == b)),
                "a buffer being deregistered is never exposed again");

        peerAcknowledges.countDown();
        Eventually.until("the dropped buffers' deregistrations returned", () -> deregistered.get() == ioThreads);
        assertTrue(other.isOpen());
    }

    /**
     * docs/rules.md SW-migrate-back: a resume socket connected ahead of a move back registers its first blocks'
     * buffers before the move, on the threads this class is about, not on an io thread; the peer's first block
     * of that length then takes the buffer, and the connection's queue registers nothing for it.
     */
    @Test
    @Checks("SW-migrate-back")
    void aBufferRegisteredAheadIsRegisteredOffTheIoThreadsAndTheFirstBlockOfItsLengthTakesIt() throws Exception {
        start();
        List<String> registeredOn = new CopyOnWriteArrayList<>();
        rdma.insideRegister = b -> registeredOn.add(Thread.currentThread().getName() + " " + b.capacity());
        SwitchSocket s = connect();
        ScriptedTransport.ScriptedSocket wire = lastWire();
        completeSend(wire); // our HELLO
        int exposedBefore = exposures().size();
        SwitchInternals.prepareBlocks(s, 4096);
        Eventually.until("a target for the peer's blocks registered ahead", () -> exposures().size() == exposedBefore + 1);
        ByteBuffer prepared = exposures().get(exposedBefore);
        assertEquals(4096, prepared.capacity());
        assertTrue(registeredOn.stream().filter(r -> r.endsWith(" 4096"))
                .allMatch(r -> r.startsWith("sanswitch-switch-close-")), "registered on " + registeredOn);

        PostedOperation recv = filled(wire, join(PEER_HELLO, writeReq(1, 4096)));
        rdma.events.operationCompleted(recv, PEER_HELLO.length + 9);
        byte[] writeTarget = completeSend(wire);
        assertEquals(7, writeTarget[0], "WRITE_TARGET for the peer's block");
        assertEquals(exposedBefore + 1, exposures().size(), "the block took the buffer registered ahead: " + registeredOn);
    }

    /**
     * A hostile connection holds at most one close thread: its close waits behind its deregistration
     * (the provider's close would wait for the peer too: over UCX it revokes each exposure left), and
     * another connection's close goes on meanwhile on the other close thread.
     */
    @Test
    @Checks("SW-close-off-io")
    void aConnectionsCloseWaitsBehindItsDeregistrationNotOnAnotherCloseThread() throws Exception {
        start();
        SwitchSocket s = connect();
        ScriptedTransport.ScriptedSocket hostile = lastWire();
        peerMakesThePoolDropABuffer(s, hostile);
        Eventually.until("the dropped buffer waits for its peer", () -> waitingOn.size() == 1);
        SwitchSocket other = connect();
        ScriptedTransport.ScriptedSocket otherWire = lastWire();
        completeSend(otherWire); // our HELLO

        s.abort();
        other.close();
        Eventually.until("the other connection's socket closed", () -> "closeGracefully".equals(otherWire.endedBy));
        assertNull(hostile.endedBy, "the hostile connection's socket is closed after its deregistration");

        peerAcknowledges.countDown();
        Eventually.until("the hostile connection's socket closed", () -> hostile.endedBy != null);
        long deregisteredAt = rdma.journal("deregister").stream()
                .filter(e -> ((ScriptedTransport.Region) e.subject()).buffer() == dropped.get(0)).findFirst().orElseThrow().seq();
        long closedAt = rdma.journal(hostile.endedBy).stream().filter(e -> e.subject() == hostile).findFirst().orElseThrow().seq();
        assertTrue(deregisteredAt < closedAt, "deregistered, then closed");
    }

    /**
     * The buffers a peer that never acknowledges has waiting for their deregistration are bounded as the
     * pool's free ones: at 8 the connection posts no receive for the peer's frames, and once they
     * returned it reads again.
     */
    @Test
    @Checks("SW-close-off-io")
    void droppedBuffersWaitingForTheirDeregistrationHoldThePeersFramesBackAtThePoolsBound() throws Exception {
        start();
        SwitchSocket s = connect();
        ScriptedTransport.ScriptedSocket wire = lastWire();
        List<CompletableFuture<Integer>> taken = peerMakesThePoolDrop(s, wire, 2 * 8); // 8 kept, 8 dropped
        Eventually.until("the first dropped buffer waits for its peer", () -> waitingOn.size() == 1);
        for (CompletableFuture<Integer> t : taken) {
            assertTrue(t.get(10, TimeUnit.SECONDS) > 0, "the application took every block");
        }

        for (int i = 0; i < 4 && !receivesPosted(wire).isEmpty(); i++) {
            PostedOperation more = filled(wire, new byte[] {1, 0, 0, 0, 1, 42}); // DATA
            rdma.events.operationCompleted(more, 6);
        }
        Eventually.until("the switch reads no more of the peer's frames", () -> receivesPosted(wire).isEmpty());

        peerAcknowledges.countDown();
        Eventually.until("the switch reads again once the deregistrations returned", () -> !receivesPosted(wire).isEmpty());
    }

    private static List<PostedOperation> receivesPosted(ScriptedTransport.ScriptedSocket wire) {
        return wire.held.stream().filter(op -> op.kind() == PostedOperation.Kind.RECV).toList();
    }

    private void start() {
        sw = new Switch(MigrationOff.withSubnets("127.0.0.0/8"));
        sw.bindProvider(engine, Map.of("sanswitch.transport", "ucx"));
        rdma.insideDeregister = r -> {
            if (r.remoteDescriptor() == null || peerAcknowledges.getCount() == 0) {
                return; // a local registration, or one after the peer acknowledges
            }
            waitingOn.add(Thread.currentThread().getName());
            dropped.add(r.buffer());
            try {
                peerAcknowledges.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            deregistered.incrementAndGet();
        };
    }

    /**
     * The peer of {@code s} (over {@code wire}) sends blocks of {@link #BLOCKS} lengths, which the
     * application takes: the pool keeps one buffer too many and drops the oldest. Our HELLO is completed first.
     *
     * @return the application's receives, one per block
     */
    private List<CompletableFuture<Integer>> peerMakesThePoolDropABuffer(SwitchSocket s, ScriptedTransport.ScriptedSocket wire)
            throws InterruptedException {
        return peerMakesThePoolDrop(s, wire, BLOCKS);
    }

    /** As {@link #peerMakesThePoolDropABuffer} with {@code blocks} blocks of 1, 2, … bytes. */
    private List<CompletableFuture<Integer>> peerMakesThePoolDrop(SwitchSocket s, ScriptedTransport.ScriptedSocket wire,
            int blocks) throws InterruptedException {
        completeSend(wire); // our HELLO
        List<CompletableFuture<Integer>> taken = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            taken.add(s.receive(ByteBuffer.allocate(64)).toCompletableFuture());
        }
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        frames.writeBytes(PEER_HELLO);
        for (int id = 1; id <= blocks; id++) {
            frames.writeBytes(writeReq(id, id));
        }
        for (int id = 1; id <= blocks; id++) {
            frames.writeBytes(idFrame(8, id)); // WRITE_DONE
        }
        // The blocks' buffers go back to the pool on whichever thread runs the connection's queue:
        // here an io thread, as when the peer's frames complete while the queue is busy.
        PostedOperation recv = filled(wire, frames.toByteArray());
        SwitchInternals.onIoThread(sw, () -> rdma.events.operationCompleted(recv, frames.size()));
        return taken;
    }

    private SwitchSocket connect() throws Exception {
        return sw.connectAsync(SAN_PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** The provider socket of the connection just made. */
    private ScriptedTransport.ScriptedSocket lastWire() {
        return rdma.sockets.get(rdma.sockets.size() - 1);
    }

    /** Every buffer exposed to a peer so far, in order. */
    private List<ByteBuffer> exposures() {
        return rdma.journal("register").stream().map(e -> (ScriptedTransport.Region) e.subject())
                .filter(r -> r.remoteDescriptor() != null).map(ScriptedTransport.Region::buffer).toList();
    }

    private static PostedOperation awaitHeld(ScriptedTransport.ScriptedSocket wire, PostedOperation.Kind kind)
            throws InterruptedException {
        return Eventually.value("the switch posts a " + kind, () -> wire.held.stream().filter(op -> op.kind() == kind).findFirst());
    }

    /** Completes the switch's next send on {@code wire} and returns its bytes. */
    private byte[] completeSend(ScriptedTransport.ScriptedSocket wire) throws InterruptedException {
        return ScriptedWire.completeSend(rdma, wire, awaitHeld(wire, PostedOperation.Kind.SEND));
    }

    /** The switch's next receive on {@code wire}, filled with the peer's {@code bytes}, for the test to complete. */
    private static PostedOperation filled(ScriptedTransport.ScriptedSocket wire, byte[] bytes) throws InterruptedException {
        PostedOperation op = awaitHeld(wire, PostedOperation.Kind.RECV);
        ByteBuffer into = op.buffers()[0].duplicate();
        assertTrue(into.remaining() >= bytes.length, "the test's frames fit one receive");
        into.put(bytes);
        wire.held.remove(op);
        return op;
    }
}
