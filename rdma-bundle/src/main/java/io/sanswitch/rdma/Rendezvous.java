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
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP side of the UCX transport: listening sockets, the connection handshake and one control
 * connection per UCX connection, all on one selector thread.
 *
 * <p>Why not UCX's own socket-address connection manager: on UCX 1.13 a listener that rejects
 * requests (a condition function saying no, a full backlog, a closing listener) while clients
 * keep connecting crashes the process in {@code ucp_cm_server_conn_request_cb}. Here peers meet
 * over TCP, swap worker addresses, and UCX connects by worker address; the TCP connection stays
 * open beside the UCX one, so a peer that dies (even by SIGKILL) is seen at once as a reset.
 *
 * <p>Wire format, big-endian: hello {@code MAGIC, VERSION, connId(8), addrLen, addr, dataLen,
 * data}; reply {@code MAGIC, status(1)} then, when accepted, {@code connId(8), addrLen, addr};
 * afterwards {@link #CLOSING} and the number of messages sent (8) announce an orderly close.
 */
final class Rendezvous implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
    static final int MAGIC = 0x53414E58; // "SANX"
    static final int VERSION = 1;
    static final byte ACCEPTED = 0;
    static final byte REFUSED = 1;
    static final byte CLOSING = 'F';
    static final int CLOSING_NOTICE = 1 + 8;
    private static final int MAX_FIELD = 64 * 1024;
    private static final Duration WRITE_WAIT = Duration.ofSeconds(2);

    /** What a connection or listener does when its channel is ready. Rendezvous thread only. */
    interface Handler {
        void ready(SelectionKey key) throws IOException;

        /** The channel failed or the peer closed it. */
        void lost(IOException cause);
    }

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    Rendezvous(String name) throws IOException {
        selector = Selector.open();
        thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    boolean inThread() {
        return Thread.currentThread() == thread;
    }

    boolean isAlive() {
        return thread.isAlive();
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

    @Override
    public void run() {
        while (running) {
            try {
                selector.select();
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
                }
            }
            selector.selectedKeys().clear();
        }
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

    /** Closes so that the peer sees a reset (SO_LINGER 0), as an abortive close must (spec 6.9). */
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
     * Writes a short message on a nonblocking channel from any thread. Handshake messages are a
     * few hundred bytes into an empty socket buffer, so this returns at once; bounded anyway.
     */
    static void writeFully(SocketChannel channel, ByteBuffer message) throws IOException {
        long deadline = System.nanoTime() + WRITE_WAIT.toNanos();
        while (message.hasRemaining()) {
            if (channel.write(message) == 0) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("peer does not read the handshake");
                }
                Thread.onSpinWait();
            }
        }
    }

    static ByteBuffer hello(long connId, byte[] workerAddress, byte[] callerData) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 + 8 + 4 + workerAddress.length + 4 + callerData.length);
        b.putInt(MAGIC).putInt(VERSION).putLong(connId).putInt(workerAddress.length).put(workerAddress)
                .putInt(callerData.length).put(callerData);
        return b.flip();
    }

    static ByteBuffer accepted(long connId, byte[] workerAddress) {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 + 4 + workerAddress.length);
        b.putInt(MAGIC).put(ACCEPTED).putLong(connId).putInt(workerAddress.length).put(workerAddress);
        return b.flip();
    }

    static ByteBuffer closingNotice(long messagesSent) {
        return ByteBuffer.allocate(CLOSING_NOTICE).put(CLOSING).putLong(messagesSent).flip();
    }

    /** The message count of a closing notice. */
    static long closingNotice(ByteBuffer notice) throws IOException {
        if (notice.get() != CLOSING) {
            throw new IOException("not a closing notice");
        }
        return notice.getLong();
    }

    static ByteBuffer refused() {
        ByteBuffer b = ByteBuffer.allocate(5);
        b.putInt(MAGIC).put(REFUSED);
        return b.flip();
    }

    /** A peer's hello: who it is and how to reach its worker. */
    record Hello(long connId, byte[] workerAddress, byte[] callerData) {
    }

    /** The listener's answer; {@code workerAddress} is null when refused. */
    record Reply(boolean accepted, long connId, byte[] workerAddress) {
    }

    /**
     * Accumulates a handshake message from a nonblocking channel until it parses. Rendezvous
     * thread only.
     */
    static final class MessageReader {
        private ByteBuffer in = ByteBuffer.allocate(512);

        /**
         * Reads what is there.
         *
         * @return false at end of stream
         */
        boolean read(SocketChannel channel) throws IOException {
            if (!in.hasRemaining()) {
                if (in.capacity() >= 2 * MAX_FIELD + 64) {
                    throw new IOException("handshake message too long");
                }
                ByteBuffer bigger = ByteBuffer.allocate(in.capacity() * 2);
                bigger.put(in.flip());
                in = bigger;
            }
            return channel.read(in) >= 0;
        }

        /** The hello, or null while incomplete. */
        Hello hello() throws IOException {
            ByteBuffer b = in.duplicate().flip();
            if (b.remaining() < 16) {
                return null;
            }
            checkMagic(b.getInt());
            if (b.getInt() != VERSION) {
                throw new IOException("unknown handshake version");
            }
            long connId = b.getLong();
            byte[] address = field(b);
            if (address == null) {
                return null;
            }
            byte[] data = field(b);
            return data == null ? null : new Hello(connId, address, data);
        }

        /** The reply, or null while incomplete. */
        Reply reply() throws IOException {
            ByteBuffer b = in.duplicate().flip();
            if (b.remaining() < 5) {
                return null;
            }
            checkMagic(b.getInt());
            if (b.get() != ACCEPTED) {
                return new Reply(false, 0, null);
            }
            if (b.remaining() < 8) {
                return null;
            }
            long connId = b.getLong();
            byte[] address = field(b);
            return address == null ? null : new Reply(true, connId, address);
        }

        private static void checkMagic(int magic) throws IOException {
            if (magic != MAGIC) {
                throw new IOException("not a sanswitch UCX peer");
            }
        }

        private static byte[] field(ByteBuffer b) throws IOException {
            if (b.remaining() < 4) {
                return null;
            }
            int length = b.getInt();
            if (length < 0 || length > MAX_FIELD) {
                throw new IOException("handshake field of " + length + " bytes");
            }
            if (b.remaining() < length) {
                return null;
            }
            byte[] field = new byte[length];
            b.get(field);
            return field;
        }
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
