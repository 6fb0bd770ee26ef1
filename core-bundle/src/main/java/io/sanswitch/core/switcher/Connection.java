package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAECONNRESET;
import static io.sanswitch.spi.WsaError.WSAEFAULT;
import static io.sanswitch.spi.WsaError.WSAENOBUFS;
import static io.sanswitch.spi.WsaError.WSAENOTSOCK;
import static io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One connection of the switch over one provider socket. All its state lives on its own
 * {@link SerialQueue}: application calls, the provider's completions and its handle closing are
 * tasks there, so nothing here takes a lock, and nothing the provider calls back ever waits.
 *
 * <p>Per connection the switch registers two buffers (spec 6.5): a send buffer and a receive buffer.
 * One send and one receive are posted at a time. On a TCP provider the bytes go as they are; on an
 * RDMA provider they are {@link Frames framed}, and sends larger than the RDMA threshold move by RDMA
 * (spec 6.7). The receive side reads ahead until {@link #HIGH_WATER} bytes that arrived wait for the
 * application, which is the flow control (spec 6.4: the switch's job). Blocks still moving do not
 * count: the write flow needs the peer's WRITE_DONE, which only a posted receive can take.
 */
final class Connection implements SwitchSocket {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    /** Both registered buffers; a frame never exceeds one (see {@link Frames#MAX_FRAME}). */
    static final int BUFFER_BYTES = Frames.MAX_FRAME;
    static final long HIGH_WATER = 8L << 20;

    private enum State {
        STARTING, OPEN, CLOSING, CLOSED, BROKEN;

        boolean terminal() {
            return this == CLOSED || this == BROKEN;
        }
    }

    /** One application send. */
    private static final class OutItem {
        final ByteBuffer source;
        final int start;
        final int total;
        final CompletableFuture<Integer> done;
        int taken;
        int acked;

        OutItem(ByteBuffer source, CompletableFuture<Integer> done) {
            this.source = source;
            this.start = source.position();
            this.total = source.remaining();
            this.done = done;
        }
    }

    private record Segment(OutItem item, int bytes) {
    }

    /** A large block on its way to the peer; {@code targeted} once the peer's WRITE_TARGET for it came. */
    private static final class OutBlock {
        final OutItem item;
        final int length;
        final RdmaBufferDescriptor exposed;
        final MemoryHandle local;
        boolean targeted;

        OutBlock(OutItem item, int length, RdmaBufferDescriptor exposed, MemoryHandle local) {
            this.item = item;
            this.length = length;
            this.exposed = exposed;
            this.local = local;
        }
    }

    /** Received bytes waiting for the application; {@code data} is null while a block is still moving. */
    private static final class InChunk {
        ByteBuffer data;
    }

    private record InTarget(InChunk chunk, ByteBuffer target, RdmaBufferDescriptor exposed) {
    }

    private record PendingReceive(ByteBuffer into, CompletableFuture<Integer> done) {
    }

    private final SwitchContext sw;
    private final BoundProvider provider;
    private final SanServiceProvider spi;
    private final SocketHandle handle;
    private final ProviderChoice choice;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final boolean framed;
    private final SerialQueue queue;
    private final int threshold;
    private final long maxBlock;
    private final boolean readsBlocks;

    // Everything below: this connection's queue only (volatile where read by statistics).
    private volatile State state = State.STARTING;
    private WsaError laterError = WSAENOTSOCK;
    /** Where the connection ended (the switch's code that ended it), for the messages of its failures. */
    private String endedAt = "";
    private BoundProvider.Slot slot;
    private ByteBuffer sendBuffer;
    private MemoryHandle sendRegistration;
    private ByteBuffer receiveBuffer;
    private MemoryHandle receiveRegistration;
    private int liveRegistrations;
    private boolean sendInFlight;
    private boolean receiveInFlight;
    private boolean endOfStream;
    private boolean peerHello;
    private boolean peerReadsBlocks;
    /** The id of the last block this side announced; ids run 1 .. Integer.MAX_VALUE, then 1 again. */
    private int blockIds;
    /** The id of the last block the peer announced (its ids run the same way). */
    private int peerBlockIds;
    /** Bytes of our blocks announced and not finished (for {@link Frames#MAX_BLOCK_BYTES_IN_FLIGHT}). */
    private long outBlockBytes;
    /** The peer's blocks announced and not finished here: count and bytes. */
    private int inBlocks;
    private long inBlockBytes;
    /** A protocol error came while a send was in flight: the RESET goes once that send is done. */
    private boolean resetAfterSend;
    private long buffered;
    private Future<?> closeTimer;
    private final ArrayDeque<ByteBuffer> control = new ArrayDeque<>();
    private final ArrayDeque<OutItem> outgoing = new ArrayDeque<>();
    private final Set<OutItem> unfinished = new LinkedHashSet<>();
    private final Map<Integer, OutBlock> outBlocks = new HashMap<>();
    private final ArrayDeque<InChunk> inbound = new ArrayDeque<>();
    private final Map<Integer, InTarget> inTargets = new HashMap<>();
    private final ArrayDeque<PendingReceive> receives = new ArrayDeque<>();
    private final FrameReader frames = new FrameReader(BUFFER_BYTES);

    Connection(SwitchContext sw, BoundProvider provider, SocketHandle handle, ProviderChoice choice,
            InetSocketAddress local, InetSocketAddress remote) {
        this.sw = sw;
        this.provider = provider;
        this.spi = provider.spi;
        this.handle = handle;
        this.choice = choice;
        this.local = local;
        this.remote = remote;
        BoundProvider.Capabilities caps = provider.capabilities();
        this.framed = caps.rdma();
        int configured = sw.settings().rdmaThresholdBytes();
        this.threshold = Math.max(1, configured > 0 ? configured : caps.rdmaThreshold());
        this.maxBlock = Math.min(Frames.MAX_BLOCK, caps.maxRdmaSize() > 0 ? caps.maxRdmaSize() : Frames.MAX_BLOCK);
        this.readsBlocks = caps.rdmaRead() && !sw.settings().forceWriteFlow();
        this.queue = sw.newQueue("connection " + provider.name + " " + remote);
    }

    /**
     * Registers the connection's buffers and posts its first receive, on its queue; {@code ready}
     * completes with this connection, or with the failure (the provider socket is then closed).
     */
    void start(CompletableFuture<SwitchSocket> ready) {
        queue.execute(() -> {
            try {
                slot = provider.slotOf(handle);
                if (slot == null) {
                    throw new WsaException(WSAECONNRESET, "the provider closed the socket before it was used");
                }
                slot.reason(Switch.describe(choice, local, remote));
                sendBuffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
                sendRegistration = spi.registerMemory(handle, sendBuffer, Winsock.MEM_READ);
                registered(1);
                receiveBuffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
                receiveRegistration = spi.registerMemory(handle, receiveBuffer, Winsock.MEM_WRITE);
                registered(1);
            } catch (WsaException e) {
                terminate(e.error(), WSAENOTSOCK);
                ready.completeExceptionally(e);
                return;
            }
            state = State.OPEN;
            sw.opened(this);
            slot.whenClosed(() -> queue.execute(this::closedByProvider));
            if (framed) {
                control.add(Frames.encode(new Frame.Hello(readsBlocks))); // spec 6.4: one negotiation message each way
            }
            pumpReceive();
            pumpSend();
            ready.complete(this);
        });
    }

    // ------------------------------------------------------------------ application side

    @Override
    public CompletionStage<Integer> send(ByteBuffer data) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (data == null) {
            done.completeExceptionally(new WsaException(WSAEFAULT, "no buffer"));
            return done;
        }
        queue.execute(() -> {
            if (state != State.OPEN) {
                done.completeExceptionally(refusal("send"));
            } else if (!data.hasRemaining()) {
                done.complete(0);
            } else {
                OutItem item = new OutItem(data, done);
                outgoing.add(item);
                unfinished.add(item);
                pumpSend();
            }
        });
        return done;
    }

    @Override
    public CompletionStage<Integer> receive(ByteBuffer into) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (into == null || into.isReadOnly()) {
            done.completeExceptionally(new WsaException(WSAEFAULT, "no writable buffer"));
            return done;
        }
        queue.execute(() -> {
            if (state != State.OPEN) {
                done.completeExceptionally(refusal("receive"));
            } else if (!into.hasRemaining()) {
                done.complete(0);
            } else {
                receives.add(new PendingReceive(into, done));
                deliver();
            }
        });
        return done;
    }

    private WsaException refusal(String what) {
        return new WsaException(state == State.BROKEN ? laterError : WSAENOTSOCK,
                what + " on a " + state.name().toLowerCase() + " connection to " + remote + " (ended at " + endedAt + ")");
    }

    @Override
    public void close() {
        queue.execute(() -> {
            if (state != State.OPEN && state != State.STARTING) {
                return;
            }
            state = State.CLOSING;
            failReceives(WSA_OPERATION_ABORTED, "closed");
            closeTimer = sw.schedule(() -> queue.execute(() -> {
                if (state == State.CLOSING) {
                    LOG.warn("{}: graceful close timed out after {}; aborting", this, sw.settings().closeTimeout());
                    abortNow();
                }
            }), sw.settings().closeTimeout());
            finishCloseWhenIdle();
        });
    }

    @Override
    public void abort() {
        queue.execute(this::abortNow);
    }

    private void abortNow() {
        if (state.terminal()) {
            return;
        }
        if (provider.isRetired()) {
            terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
            return;
        }
        boolean canTellPeer = framed && state != State.STARTING && !sendInFlight && sendRegistration != null;
        try {
            // A provider that can reset the connection on close does so with no linger (TCP RST).
            spi.setSockOpt(handle, Winsock.SOL_SOCKET, Winsock.SO_LINGER, 0);
        } catch (WsaException notSupported) {
            LOG.trace("{}: SO_LINGER not supported: {}", this, notSupported.error());
        }
        if (canTellPeer) {
            // Framed: the peer learns of the abort from a RESET frame sent before the close.
            sendBuffer.clear().put(Frames.encode(new Frame.Reset())).flip();
            Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(() -> closeSocketQuietly()));
            try {
                spi.send(handle, new WsaBuf[] {new WsaBuf(sendRegistration, 0, 1)}, 0, ov);
                terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK, false);
                return;
            } catch (WsaException e) {
                LOG.debug("{}: no RESET sent: {}", this, e.error());
            }
        }
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
    }

    @Override
    public InputStream inputStream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                return await(receive(ByteBuffer.wrap(b, off, len)));
            }

            @Override
            public void close() {
                Connection.this.close();
            }
        };
    }

    @Override
    public OutputStream outputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len > 0) {
                    await(send(ByteBuffer.wrap(b, off, len)));
                }
            }

            @Override
            public void close() {
                Connection.this.close();
            }
        };
    }

    private static int await(CompletionStage<Integer> stage) throws IOException {
        try {
            return stage.toCompletableFuture().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    @Override
    public String provider() {
        return provider.name;
    }

    @Override
    public ProviderChoice choice() {
        return choice;
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public boolean isOpen() {
        return state == State.OPEN;
    }

    // ------------------------------------------------------------------ sending

    /** Fills the send buffer (control frames first, then data in order) and posts it. */
    private void pumpSend() {
        if (sendInFlight || (state != State.OPEN && state != State.CLOSING)) {
            return;
        }
        ByteBuffer out = sendBuffer.clear();
        while (!control.isEmpty() && control.peek().remaining() <= out.remaining()) {
            out.put(control.poll());
        }
        List<Segment> segments = new ArrayList<>();
        while (!outgoing.isEmpty()) {
            OutItem item = outgoing.peek();
            if (framed && item.total > threshold) {
                // spec 6.7: blocks larger than the threshold move by RDMA; the flow depends on the
                // peer's provider, known from its HELLO.
                if (!peerHello || out.remaining() < Frames.BLOCK_HEADER + Frames.MAX_DESCRIPTOR || !mayStartBlock(item)) {
                    break;
                }
                if (!startBlock(item, out)) {
                    return;
                }
            } else {
                int room = out.remaining() - (framed ? Frames.DATA_HEADER : 0);
                if (room <= 0) {
                    break;
                }
                int n = Math.min(room, item.total - item.taken);
                ByteBuffer part = item.source.duplicate();
                if (framed) {
                    n = Math.min(n, threshold);
                }
                part.limit(item.start + item.taken + n).position(item.start + item.taken);
                if (framed) {
                    new Frame.Data(part).writeTo(out);
                } else {
                    out.put(part);
                }
                item.taken += n;
                segments.add(new Segment(item, n));
            }
            if (item.taken == item.total) {
                outgoing.poll();
            }
        }
        int length = out.position();
        if (length == 0) {
            return;
        }
        Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(() -> sent(r, segments)));
        try {
            spi.send(handle, new WsaBuf[] {new WsaBuf(sendRegistration, 0, length)}, 0, ov);
            sendInFlight = true;
        } catch (WsaException e) {
            if (!providerGoing(e)) {
                terminate(e.error(), WSAECONNRESET);
            }
        }
    }

    private void sent(OverlappedResult r, List<Segment> segments) {
        sendInFlight = false;
        if (state.terminal()) {
            if (resetAfterSend) {
                resetAfterSend = false;
                sendReset();
            }
            return;
        }
        if (!r.isSuccess()) {
            terminate(r.error(), WSAECONNRESET);
            return;
        }
        for (Segment s : segments) {
            acknowledge(s.item(), s.bytes());
        }
        pumpSend();
        finishCloseWhenIdle();
    }

    private void acknowledge(OutItem item, int bytes) {
        item.acked += bytes;
        if (item.acked == item.total && unfinished.remove(item)) {
            item.source.position(item.start + item.total);
            item.done.complete(item.total);
        }
    }

    /**
     * Whether the next block of {@code item} stays within the blocks a receiver accepts in flight
     * ({@link Frames#MAX_BLOCKS_IN_FLIGHT}, {@link Frames#MAX_BLOCK_BYTES_IN_FLIGHT}). Also waits until
     * every control frame queued so far is in this send ahead of it: a WRITE_DONE that freed the room
     * must reach the peer before the block that uses it.
     */
    private boolean mayStartBlock(OutItem item) {
        long length = Math.min(item.total - item.taken, maxBlock);
        return control.isEmpty() && outBlocks.size() < Frames.MAX_BLOCKS_IN_FLIGHT
                && outBlockBytes + length <= Frames.MAX_BLOCK_BYTES_IN_FLIGHT;
    }

    /**
     * Starts moving the next block of {@code item} (at most {@link #maxBlock} bytes) by RDMA and
     * writes its announcement into {@code out}.
     *
     * @return {@code false} if the connection ended
     */
    private boolean startBlock(OutItem item, ByteBuffer out) {
        int length = (int) Math.min(item.total - item.taken, maxBlock);
        ByteBuffer part = item.source.duplicate();
        part.limit(item.start + item.taken + length).position(item.start + item.taken);
        ByteBuffer block = part.isDirect() ? part.slice() : ByteBuffer.allocateDirect(length).put(part).flip();
        int id = blockIds == Integer.MAX_VALUE ? 1 : blockIds + 1;
        boolean readFlow = peerReadsBlocks;
        try {
            if (readFlow) {
                RdmaBufferDescriptor exposed = spi.registerRdmaMemory(handle, block, Winsock.MEM_READ);
                registered(1);
                byte[] d = exposed.toBytes();
                if (d.length > Frames.MAX_DESCRIPTOR) {
                    throw new WsaException(WSAENOBUFS, "descriptor of " + d.length + " bytes");
                }
                new Frame.Block(id, length, exposed).writeTo(out);
                outBlocks.put(id, new OutBlock(item, length, exposed, null));
            } else {
                MemoryHandle source = spi.registerMemory(handle, block, Winsock.MEM_READ);
                registered(1);
                new Frame.WriteReq(id, length).writeTo(out);
                outBlocks.put(id, new OutBlock(item, length, null, source));
            }
            blockIds = id;
            outBlockBytes += length;
        } catch (WsaException e) {
            // spec 6.7: a failed registration fails the application's send with WSAENOBUFS; once
            // part of it is on the wire the stream cannot go on without it.
            if (providerGoing(e)) {
                return false;
            }
            if (e.error() == WSAENOTSOCK) {
                terminate(e.error(), WSAECONNRESET);
                return false;
            }
            WsaError error = WSAENOBUFS;
            if (item.taken == 0) {
                outgoing.remove(item);
                unfinished.remove(item);
                item.done.completeExceptionally(new WsaException(error, "RDMA block not registered", e));
                return true;
            }
            terminate(error, WSAECONNRESET);
            return false;
        }
        item.taken += length;
        return true;
    }

    /** DONE (read flow): the peer has the block; our exposure ends (spec 6.7 step 3). */
    private void blockDone(int id) {
        OutBlock b = outBlocks.get(id);
        if (b == null || b.exposed == null) {
            protocolError("DONE for block " + id + (b == null ? ", which is not in flight" : ", which moves by RDMA write"));
            return;
        }
        outBlocks.remove(id);
        outBlockBytes -= b.length;
        try {
            spi.deregisterRdmaMemory(handle, b.exposed);
            registered(-1);
        } catch (WsaException e) {
            LOG.debug("{}: deregistering block {}: {}", this, id, e.error());
        }
        acknowledge(b.item, b.length);
        pumpSend(); // room for the next block
        finishCloseWhenIdle();
    }

    /** WRITE_TARGET (write flow): RDMA-write the block into the peer's buffer, then WRITE_DONE. */
    private void writeTo(int id, RdmaBufferDescriptor target) {
        OutBlock b = outBlocks.get(id);
        if (b == null || b.local == null || b.targeted) {
            protocolError("WRITE_TARGET for block " + id + (b == null ? ", which is not in flight"
                    : b.local == null ? ", which moves by RDMA read" : ", which has its target already"));
            return;
        }
        b.targeted = true;
        Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(() -> {
            if (state.terminal()) {
                return;
            }
            if (!r.isSuccess()) {
                terminate(r.error(), WSAECONNRESET);
                return;
            }
            outBlocks.remove(id);
            outBlockBytes -= b.length;
            try {
                spi.deregisterMemory(handle, b.local);
                registered(-1);
            } catch (WsaException e) {
                LOG.debug("{}: deregistering block {}: {}", this, id, e.error());
            }
            control.add(Frames.encode(new Frame.WriteDone(id)));
            acknowledge(b.item, b.length);
            pumpSend();
            finishCloseWhenIdle();
        }));
        try {
            spi.rdmaWrite(handle, new WsaBuf[] {WsaBuf.of(b.local)}, target, 0, 0, ov);
        } catch (WsaException e) {
            if (e.error() == WsaError.WSAEINVAL) {
                protocolError("WRITE_TARGET for block " + id + " with a descriptor the provider refused: " + e.getMessage());
            } else if (!providerGoing(e)) {
                terminate(e.error(), WSAECONNRESET);
            }
        }
    }

    // ------------------------------------------------------------------ receiving

    private void pumpReceive() {
        if (receiveInFlight || endOfStream || buffered >= HIGH_WATER
                || (state != State.OPEN && state != State.CLOSING)) {
            return;
        }
        Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(() -> received(r)));
        try {
            spi.recv(handle, new WsaBuf[] {WsaBuf.of(receiveRegistration)}, ov);
            receiveInFlight = true;
        } catch (WsaException e) {
            if (!providerGoing(e)) {
                terminate(e.error(), WSAECONNRESET);
            }
        }
    }

    private void received(OverlappedResult r) {
        receiveInFlight = false;
        if (state.terminal()) {
            return;
        }
        if (!r.isSuccess()) {
            // An aborted receive (closeSocket or the provider's final cleanup) fails what is pending
            // with WSA_OPERATION_ABORTED; everything after sees the connection reset.
            terminate(r.error(), WSAECONNRESET);
            return;
        }
        int n = (int) r.bytesTransferred();
        if (n == 0) {
            endOfStream = true; // spec 6.9: the peer closed; its last bytes came before
            deliver();
            if (state == State.CLOSING) {
                finishCloseNow();
            }
            return;
        }
        ByteBuffer data = receiveBuffer.duplicate().position(0).limit(n);
        if (framed) {
            onFrameBytes(data);
            if (state.terminal()) {
                return;
            }
        } else {
            InChunk c = new InChunk();
            c.data = ByteBuffer.allocate(n).put(data).flip();
            inbound.add(c);
            buffered += n;
        }
        deliver();
        pumpReceive();
    }

    /** Decodes what arrived and acts on each frame. */
    private void onFrameBytes(ByteBuffer data) {
        if (!frames.add(data)) {
            // Cannot happen: what waits is one incomplete frame, shorter than MAX_FRAME.
            protocolError("frame reassembly overflow (" + frames.waiting() + " bytes waiting)");
            return;
        }
        while (!state.terminal()) {
            Frames.Decoded d = frames.next();
            if (d instanceof Frame f) {
                onFrame(f);
            } else if (d instanceof Frames.Violation v) {
                protocolError(v.reason());
            } else {
                break;
            }
        }
    }

    private void onFrame(Frame f) {
        if (!peerHello) {
            if (f instanceof Frame.Hello h) {
                peerHello = true;
                peerReadsBlocks = h.readsBlocks();
                pumpSend();
            } else {
                protocolError(f.getClass().getSimpleName().toUpperCase() + " before the peer's HELLO");
            }
        } else if (f instanceof Frame.Data d) {
            int n = d.payload().remaining();
            InChunk c = new InChunk();
            c.data = ByteBuffer.allocate(n).put(d.payload()).flip();
            inbound.add(c);
            buffered += n;
        } else if (f instanceof Frame.Block b) {
            if (acceptBlock("BLOCK", b.id(), b.length(), readsBlocks)) {
                readBlock(b.id(), b.length(), b.descriptor());
            }
        } else if (f instanceof Frame.WriteReq w) {
            if (acceptBlock("WRITE_REQ", w.id(), w.length(), !readsBlocks)) {
                exposeTarget(w.id(), w.length());
            }
        } else if (f instanceof Frame.Done done) {
            blockDone(done.id());
        } else if (f instanceof Frame.WriteTarget t) {
            writeTo(t.id(), t.descriptor());
        } else if (f instanceof Frame.WriteDone w) {
            targetWritten(w.id());
        } else if (f instanceof Frame.Reset) {
            terminate(WSAECONNRESET, WSAECONNRESET);
        } else {
            protocolError("a second HELLO");
        }
    }

    /**
     * The checks of a block announcement that need this connection: its flow is the one our HELLO
     * asked for, its id the next in the peer's sequence, and it stays within the blocks in flight.
     */
    private boolean acceptBlock(String frame, int id, int length, boolean flowAgreed) {
        int expected = peerBlockIds == Integer.MAX_VALUE ? 1 : peerBlockIds + 1;
        String bad = !flowAgreed ? frame + ", but our HELLO asked for the other flow"
                : id != expected ? frame + " for block " + id + ", expected " + expected
                : inBlocks >= Frames.MAX_BLOCKS_IN_FLIGHT ? frame + " beyond " + Frames.MAX_BLOCKS_IN_FLIGHT + " blocks in flight"
                : inBlockBytes + length > Frames.MAX_BLOCK_BYTES_IN_FLIGHT ? frame + " of " + length + " bytes beyond "
                        + Frames.MAX_BLOCK_BYTES_IN_FLIGHT + " bytes in flight (" + inBlockBytes + " now)"
                : null;
        if (bad != null) {
            protocolError(bad);
            return false;
        }
        peerBlockIds = id;
        inBlocks++;
        inBlockBytes += length;
        return true;
    }

    private void inBlockFinished(int length) {
        inBlocks--;
        inBlockBytes -= length;
    }

    /** BLOCK (read flow, spec 6.7 step 2): RDMA-read the peer's block into registered memory. */
    private void readBlock(int id, int length, RdmaBufferDescriptor source) {
        InChunk chunk = new InChunk();
        inbound.add(chunk);
        ByteBuffer target = ByteBuffer.allocateDirect(length);
        try {
            MemoryHandle m = spi.registerMemory(handle, target, Winsock.MEM_WRITE);
            registered(1);
            Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(() -> {
                if (state.terminal()) {
                    return;
                }
                if (!r.isSuccess()) {
                    terminate(r.error(), WSAECONNRESET);
                    return;
                }
                try {
                    spi.deregisterMemory(handle, m);
                    registered(-1);
                } catch (WsaException e) {
                    LOG.debug("{}: deregistering a read target: {}", this, e.error());
                }
                chunk.data = target;
                buffered += length;
                inBlockFinished(length);
                control.add(Frames.encode(new Frame.Done(id)));
                pumpSend();
                deliver();
            }));
            spi.rdmaRead(handle, new WsaBuf[] {WsaBuf.of(m)}, source, 0, 0, ov);
        } catch (WsaException e) {
            if (e.error() == WsaError.WSAEINVAL) {
                // The provider checks the peer's descriptor (its backend, range and access) first.
                protocolError("BLOCK " + id + " with a descriptor the provider refused: " + e.getMessage());
            } else if (!providerGoing(e)) {
                terminate(e.error(), WSAECONNRESET);
            }
        }
    }

    /** WRITE_REQ (write flow, spec 6.7 step 1): expose a target for the peer's block. */
    private void exposeTarget(int id, int length) {
        InChunk chunk = new InChunk();
        inbound.add(chunk);
        ByteBuffer target = ByteBuffer.allocateDirect(length);
        try {
            RdmaBufferDescriptor exposed = spi.registerRdmaMemory(handle, target, Winsock.MEM_WRITE);
            registered(1);
            inTargets.put(id, new InTarget(chunk, target, exposed));
            control.add(Frames.encode(new Frame.WriteTarget(id, exposed)));
            pumpSend();
        } catch (WsaException e) {
            if (!providerGoing(e)) {
                terminate(e.error(), WSAECONNRESET);
            }
        }
    }

    /** WRITE_DONE (write flow, step 3): the block is in our target; its exposure ends. */
    private void targetWritten(int id) {
        InTarget t = inTargets.remove(id);
        if (t == null) {
            protocolError("WRITE_DONE for block " + id + ", which has no target here");
            return;
        }
        inBlockFinished(t.target().capacity());
        try {
            spi.deregisterRdmaMemory(handle, t.exposed());
            registered(-1);
        } catch (WsaException e) {
            LOG.debug("{}: deregistering a write target: {}", this, e.error());
        }
        t.chunk().data = t.target();
        buffered += t.target().remaining();
    }

    /** Hands received bytes to waiting receives, in order; the end of the stream as -1. */
    private void deliver() {
        while (!receives.isEmpty()) {
            InChunk c = inbound.peek();
            if (c == null) {
                if (endOfStream) {
                    receives.poll().done().complete(-1);
                    continue;
                }
                break;
            }
            if (c.data == null) {
                break; // a block still moving
            }
            PendingReceive pr = receives.poll();
            int n = Math.min(c.data.remaining(), pr.into().remaining());
            ByteBuffer part = c.data.duplicate();
            part.limit(part.position() + n);
            pr.into().put(part);
            c.data.position(c.data.position() + n);
            if (!c.data.hasRemaining()) {
                inbound.poll();
            }
            buffered -= n;
            pr.done().complete(n);
        }
        pumpReceive();
    }

    // ------------------------------------------------------------------ ending

    private void finishCloseWhenIdle() {
        if (state == State.CLOSING && unfinished.isEmpty() && outBlocks.isEmpty() && !sendInFlight && control.isEmpty()) {
            finishCloseNow();
        }
    }

    private void finishCloseNow() {
        terminate(WSA_OPERATION_ABORTED, WSAENOTSOCK);
    }

    /** The provider closed the socket's handle (its final cleanup reset it, spec 1.4, DESIGN 2.3 c). */
    private void closedByProvider() {
        terminate(WSA_OPERATION_ABORTED, WSAECONNRESET);
    }

    /**
     * The peer broke the session protocol: the connection ends with {@code WSAECONNRESET} for what is
     * pending and what comes later, and the peer gets a RESET before the socket closes (once a send
     * in flight is done, since the RESET goes from the same registered buffer).
     */
    private void protocolError(String what) {
        if (state.terminal()) {
            return;
        }
        LOG.warn("{}: session protocol error: {}; resetting", this, what);
        terminate(WSAECONNRESET, WSAECONNRESET, false);
        try {
            spi.setSockOpt(handle, Winsock.SOL_SOCKET, Winsock.SO_LINGER, 0);
        } catch (WsaException notSupported) {
            LOG.trace("{}: SO_LINGER not supported: {}", this, notSupported.error());
        }
        if (sendInFlight) {
            resetAfterSend = true;
            // A send that never completes must not keep the socket open.
            sw.schedule(() -> queue.execute(this::closeSocketQuietly), sw.settings().closeTimeout());
        } else {
            sendReset();
        }
    }

    /** Sends a RESET frame on an ended connection, then closes its socket. */
    private void sendReset() {
        if (sendRegistration == null || provider.isRetired()) {
            closeSocketQuietly();
            return;
        }
        sendBuffer.clear().put(Frames.encode(new Frame.Reset())).flip();
        Overlapped ov = Overlapped.notifying((IoCompletion) r -> queue.execute(this::closeSocketQuietly));
        try {
            spi.send(handle, new WsaBuf[] {new WsaBuf(sendRegistration, 0, 1)}, 0, ov);
        } catch (WsaException e) {
            LOG.debug("{}: no RESET sent: {}", this, e.error());
            closeSocketQuietly();
        }
    }

    private void terminate(WsaError pending, WsaError later) {
        terminate(pending, later, true);
    }

    /**
     * A call refused because the provider is going away: the connection is not ended here but by the
     * provider's closeSocketHandle upcall, which its final cleanup makes for every socket after it
     * aborted the pending operations (DESIGN 2.3 b, c). Queued behind every call the application made
     * before the bundle stop, it makes those calls fail as aborted rather than as a reset.
     */
    private boolean providerGoing(WsaException e) {
        if (e.error() == WsaError.WSANOTINITIALISED || provider.isRetired()) {
            LOG.trace("{}: {} refused, the provider is going away", this, e.error());
            return true;
        }
        return false;
    }

    /**
     * A call refused because the provider is being cleaned up ({@code WSANOTINITIALISED}) or has
     * already reset the socket ({@code WSAENOTSOCK}) means the same as an aborted operation: what is
     * pending fails with {@code WSA_OPERATION_ABORTED}, what comes later with a reset.
     */
    private static WsaError pendingErrorOf(WsaError callError) {
        return callError == WsaError.WSANOTINITIALISED || callError == WSAENOTSOCK ? WSA_OPERATION_ABORTED : callError;
    }

    /**
     * Ends the connection once: pending sends and receives fail with {@code pending}, later calls
     * with {@code later}; the provider socket is closed, which releases its registrations (spec Q23).
     */
    private void terminate(WsaError pending, WsaError later, boolean closeSocket) {
        if (state.terminal()) {
            return;
        }
        StackTraceElement[] at = new Throwable().getStackTrace();
        endedAt = at.length > 2 ? at[at.length > 3 && at[1].getMethodName().equals("terminate") ? 2 : 1].toString() : "";
        WsaError reported = pending;
        endedAt = reported + " at " + endedAt + (provider.isRetired() ? ", provider withdrawn" : "");
        pending = pendingErrorOf(pending);
        if (provider.isRetired()) {
            // The provider was withdrawn (its bundle stops): whatever its cleanup reports first for
            // this socket or its peer, for the application the operation was aborted (DESIGN 2.3 b).
            pending = WSA_OPERATION_ABORTED;
            later = later == WSAENOTSOCK ? later : WSAECONNRESET;
        }
        if (later == WsaError.WSANOTINITIALISED) {
            later = WSAECONNRESET;
        }
        boolean wasOpen = state != State.STARTING;
        state = later == WSAENOTSOCK ? State.CLOSED : State.BROKEN;
        laterError = later;
        if (closeTimer != null) {
            closeTimer.cancel(false);
        }
        for (OutItem item : unfinished) {
            item.done.completeExceptionally(new WsaException(pending, "send to " + remote + " ended: " + endedAt));
        }
        unfinished.clear();
        outgoing.clear();
        outBlocks.clear();
        outBlockBytes = 0;
        inTargets.clear();
        inBlocks = 0;
        inBlockBytes = 0;
        inbound.clear();
        buffered = 0;
        failReceives(pending, endedAt);
        registered(-liveRegistrations);
        if (closeSocket) {
            closeSocketQuietly();
        }
        if (wasOpen) {
            sw.ended(this);
        }
        LOG.debug("{}: ended (pending {}, later {})", this, pending, later);
    }

    private void failReceives(WsaError error, String why) {
        for (PendingReceive pr : receives) {
            pr.done().completeExceptionally(new WsaException(error, "receive from " + remote + " ended: " + why));
        }
        receives.clear();
    }

    private void closeSocketQuietly() {
        if (slot != null && slot.isClosed() || provider.isRetired()) {
            // A withdrawn provider's final cleanup resets and releases the socket (DESIGN 2.3 c); a
            // call now would only wait for that cleanup and hold a switch thread meanwhile.
            return;
        }
        try {
            spi.closeSocket(handle);
        } catch (WsaException e) {
            // WSANOTINITIALISED: the provider is being cleaned up and resets the socket itself.
            LOG.trace("{}: closeSocket: {}", this, e.error());
        }
    }

    private void registered(int delta) {
        liveRegistrations += delta;
        sw.registrations(delta);
    }

    @Override
    public String toString() {
        return "SwitchSocket[" + provider.name + " " + local + " -> " + remote + ", " + state + "]";
    }
}
