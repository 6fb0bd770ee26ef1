package io.sanswitch.rdma;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP side of the UCX transport: listening sockets, the connection handshake and one control
 * connection per UCX connection, all on one selector thread that never blocks on a peer.
 *
 * <p>Why not UCX's own socket-address connection manager: on UCX 1.13 a listener that rejects
 * requests (a condition function saying no, a full backlog, a closing listener) while clients
 * keep connecting crashes the process in {@code ucp_cm_server_conn_request_cb}. Here peers meet
 * over TCP, prove they hold the shared key and swap worker addresses ({@link Handshake}), and UCX
 * connects by worker address; the TCP connection stays open beside the UCX one, so a peer that
 * dies (even by SIGKILL) is seen at once as a reset. After the handshake the control connection
 * carries {@link #CLOSING} and the number of messages sent (8), an orderly close; and the
 * revocations of RDMA exposures (docs/rules.md RD-access): {@link #REVOKE} with the exposure's
 * number (8) and the lowest number still registered (8), answered by {@link #REVOKED} with the
 * exposure's number (8) once no RDMA operation on it is in flight any more.
 *
 * <p>Handshakes are bounded in time and number (docs/security.md, SEC-4): each one that has not
 * finished after the handshake timeout is closed, and when {@link #MAX_HANDSHAKES} are in progress
 * the oldest peer's is dropped for a new one, so a flood of stalled connections delays a real peer by
 * no more than its own round trip (OpenSSH's LoginGraceTime and MaxStartups, in small).
 */
final class Rendezvous implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
    static final byte CLOSING = 'F';
    static final int CLOSING_NOTICE = 1 + 8;
    static final byte REVOKE = 'R';
    static final int REVOKE_MESSAGE = 1 + 8 + 8;
    static final byte REVOKED = 'A';
    static final int REVOKED_MESSAGE = 1 + 8;
    /** Handshakes in progress at once, both directions; beyond it the oldest is dropped. */
    static final int MAX_HANDSHAKES = 4096;

    /** What a connection or listener does when its channel is ready. Rendezvous thread only. */
    interface Handler {
        void ready(SelectionKey key) throws IOException;

        /** The channel failed or the peer closed it. */
        void lost(IOException cause);
    }

    /** A handshake under the timeout. Rendezvous thread only. */
    interface Timed {
        /** Whether it ended (finished, refused or lost): its deadline no longer matters. */
        boolean ended();

        /** Its time is up, or it is dropped for a newer one: close it, with {@code reason}. */
        void expire(String reason);
    }

    private record Deadline(Timed handshake, long atNanos) {
    }

    private final Selector selector;
    private final Thread thread;
    private final Duration handshakeTimeout;
    private final SecureRandom random = new SecureRandom();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    /**
     * Handshakes of peers (accepted connections) and this side's own connects, each in the order
     * they began, which with one timeout is the order they expire. Rendezvous thread.
     */
    private final ArrayDeque<Deadline> inbound = new ArrayDeque<>();
    private final ArrayDeque<Deadline> outbound = new ArrayDeque<>();
    private volatile boolean running = true;
    /** A task run about every {@link #tickNanos} (the interface watch); set before {@link #start}. */
    private Runnable tick;
    private long tickNanos;
    /** When {@link #tick} runs next. Rendezvous thread. */
    private long nextTick;

    Rendezvous(String name, Duration handshakeTimeout) throws IOException {
        this.handshakeTimeout = handshakeTimeout;
        selector = Selector.open();
        thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    void start() {
        nextTick = System.nanoTime() + tickNanos;
        thread.start();
    }

    /** Runs {@code task} on the rendezvous thread about every {@code millis}; set before {@link #start}. */
    void every(long millis, Runnable task) {
        tickNanos = millis * 1_000_000L;
        tick = task;
    }

    boolean inThread() {
        return Thread.currentThread() == thread;
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** A fresh nonce for one handshake. */
    byte[] nonce() {
        byte[] nonce = new byte[Handshake.NONCE];
        random.nextBytes(nonce);
        return nonce;
    }

    /** Runs {@code task} on the rendezvous thread (inline when already on it). */
    void execute(Runnable task) {
        if (inThread()) {
            task.run();
        } else {
            tasks.add(task);
            selector.wakeup();
        }
    }

    /** Registers {@code channel} (nonblocking) with {@code handler} for {@code ops}. */
    void register(java.nio.channels.SelectableChannel channel, int ops, Handler handler) {
        execute(() -> {
            try {
                channel.register(selector, ops, handler);
            } catch (ClosedChannelException e) {
                handler.lost(e);
            }
        });
    }

    /**
     * Puts a peer's handshake (a connection accepted by a listener) under the timeout, dropping the
     * oldest peer's handshake still running when {@link #MAX_HANDSHAKES} are. Only those count:
     * peers cannot make this side drop its own connects, nor its own connects a peer. Rendezvous thread.
     */
    void timeInbound(Timed handshake) {
        if (inbound.size() >= MAX_HANDSHAKES) {
            inbound.removeIf(d -> d.handshake().ended());
        }
        while (inbound.size() >= MAX_HANDSHAKES) {
            inbound.poll().handshake().expire("dropped: " + MAX_HANDSHAKES + " handshakes of peers were in progress");
        }
        inbound.add(new Deadline(handshake, System.nanoTime() + handshakeTimeout.toNanos()));
    }

    /**
     * Puts this side's own connect under the timeout; their number is the application's. Rendezvous
     * thread.
     */
    void timeOutbound(Timed handshake) {
        outbound.add(new Deadline(handshake, System.nanoTime() + handshakeTimeout.toNanos()));
    }

    @Override
    public void run() {
        while (running) {
            try {
                selector.select(untilNextTimer(expireHandshakes()));
            } catch (IOException e) {
                LOG.warn("rendezvous selector failed", e);
                break;
            }
            for (Runnable r; (r = tasks.poll()) != null;) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.warn("rendezvous task threw", e);
                }
            }
            for (SelectionKey key : selector.selectedKeys()) {
                Handler h = (Handler) key.attachment();
                try {
                    if (key.isValid()) {
                        h.ready(key);
                    }
                } catch (IOException e) {
                    key.cancel();
                    h.lost(e);
                } catch (RuntimeException e) {
                    LOG.warn("rendezvous handler threw", e);
                    key.cancel();
                    closeQuietly(key.channel());
                    h.lost(new IOException("handler failed: " + e, e));
                }
            }
            selector.selectedKeys().clear();
            runTick();
        }
    }

    /** {@code handshakeWait} (0: none) shortened to the next run of {@link #tick}, in milliseconds. */
    private long untilNextTimer(long handshakeWait) {
        if (tick == null) {
            return handshakeWait;
        }
        long toTick = Math.max(1, (nextTick - System.nanoTime() + 999_999) / 1_000_000);
        return handshakeWait == 0 ? toTick : Math.min(handshakeWait, toTick);
    }

    private void runTick() {
        Runnable t = tick;
        long now = System.nanoTime();
        if (t == null || now - nextTick < 0) {
            return;
        }
        nextTick = now + tickNanos;
        try {
            t.run();
        } catch (RuntimeException e) {
            LOG.warn("periodic rendezvous task threw", e);
        }
    }

    /**
     * Closes the handshakes whose time is up.
     *
     * @return milliseconds until the next deadline, 0 (no timeout) when none is running
     */
    private long expireHandshakes() {
        long now = System.nanoTime();
        long next = Math.min(expire(inbound, now), expire(outbound, now));
        return next == Long.MAX_VALUE ? 0 : Math.max(1, (next - now + 999_999) / 1_000_000);
    }

    /** Expires the due handshakes of {@code deadlines}; the next deadline's time, or Long.MAX_VALUE. */
    private long expire(ArrayDeque<Deadline> deadlines, long now) {
        for (Deadline d; (d = deadlines.peek()) != null;) {
            if (d.handshake().ended()) {
                deadlines.poll();
            } else if (now - d.atNanos() >= 0) {
                deadlines.poll();
                try {
                    d.handshake().expire("no complete handshake within " + handshakeTimeout.toMillis() + " ms");
                } catch (RuntimeException e) {
                    LOG.warn("expiring a handshake threw", e);
                }
            } else {
                return d.atNanos();
            }
        }
        return Long.MAX_VALUE;
    }

    /**
     * Stops the thread and closes every channel still registered (their owners were reset
     * before; this only catches leftovers). From the rendezvous thread itself (a final cleanup
     * made inside an upcall) the loop ends when that upcall returns.
     */
    void stop() {
        running = false;
        selector.wakeup();
        if (!inThread()) {
            try {
                thread.join(UcxWorkerThread.CALL_TIMEOUT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closeAll();
        } else {
            tasks.clear();
            closeAll();
        }
    }

    private void closeAll() {
        try {
            for (SelectionKey key : new ArrayList<>(selector.keys())) {
                closeQuietly(key.channel());
            }
            selector.close();
        } catch (IOException | java.nio.channels.ClosedSelectorException e) {
            LOG.debug("closing the rendezvous selector", e);
        }
    }

    /**
     * Closes a channel that may be registered here, from any thread. A registered channel is
     * really closed (its port freed, its FIN or RST sent) only when the selector deregisters it,
     * so the selector is woken to do that now.
     */
    void release(java.nio.channels.Channel channel, boolean abortive) {
        if (abortive && channel instanceof SocketChannel s) {
            resetQuietly(s);
        } else {
            closeQuietly(channel);
        }
        selector.wakeup();
    }

    static void closeQuietly(java.nio.channels.Channel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing {}", channel, e);
        }
    }

    /** Closes so that the peer sees a reset (SO_LINGER 0), as an abortive close must (docs/rules.md BG-close). */
    static void resetQuietly(SocketChannel channel) {
        try {
            if (channel.isOpen()) {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            }
        } catch (IOException e) {
            LOG.debug("SO_LINGER on {}", channel, e);
        }
        closeQuietly(channel);
    }

    /**
     * Writes a short message on a nonblocking channel in one call, from any thread, never waiting
     * for the peer: handshake answers, the closing notice and revocations with their
     * acknowledgements are the only bytes ever written on the connection, a few at a time, and fit
     * a socket buffer the peer reads, so a peer that does not read is one that lets its buffer
     * fill on purpose, and is dropped.
     */
    static void writeNow(SocketChannel channel, ByteBuffer message) throws IOException {
        channel.write(message);
        if (message.hasRemaining()) {
            throw new IOException("the peer does not take a " + message.limit() + "-byte handshake message");
        }
    }

    static ByteBuffer closingNotice(long messagesSent) {
        return ByteBuffer.allocate(CLOSING_NOTICE).put(CLOSING).putLong(messagesSent).flip();
    }

    static ByteBuffer revoke(long exposure, long lowestRegistered) {
        return ByteBuffer.allocate(REVOKE_MESSAGE).put(REVOKE).putLong(exposure).putLong(lowestRegistered).flip();
    }

    static ByteBuffer revoked(long exposure) {
        return ByteBuffer.allocate(REVOKED_MESSAGE).put(REVOKED).putLong(exposure).flip();
    }

    /** The message count of a closing notice. */
    static long closingNotice(ByteBuffer notice) throws IOException {
        if (notice.get() != CLOSING) {
            throw new IOException("not a closing notice");
        }
        return notice.getLong();
    }

    static InetSocketAddress remoteOf(SocketChannel channel) {
        try {
            return (InetSocketAddress) channel.getRemoteAddress();
        } catch (IOException e) {
            return null;
        }
    }

    static void listenSocket(ServerSocketChannel channel, InetSocketAddress at, int backlog) throws IOException {
        channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        channel.bind(at, backlog);
        channel.configureBlocking(false);
    }
}
