package io.sanswitch.rdma;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedDeque;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.ConnectionRequest;

/**
 * The listening part of a {@link UcxSocket} (docs/rules.md AC-condition): a TCP socket of the {@link Rendezvous},
 * whose connections run the {@link ServerHandshake}; requests that proved the key wait for the
 * switch's condition function, which accepts (a new connection with its endpoint) or rejects.
 */
final class UcxListener {
    private static final Logger LOG = LoggerFactory.getLogger(UcxListener.class);

    private final UcxTransport owner;
    /** The listening socket the events are about. */
    private final UcxSocket socket;
    private final int backlog;
    /** Where it listens (the port chosen when bound to 0). */
    private final InetSocketAddress address;
    /** The listening TCP socket; null once closed. Application threads. */
    private volatile ServerSocketChannel server;
    /** Requests proven by the handshake, queued by the rendezvous thread, taken by application threads. */
    private final ConcurrentLinkedDeque<Request> requests = new ConcurrentLinkedDeque<>();

    /**
     * A connection request waiting for the switch's condition function. Equal only to itself: each
     * request is one connection, and the queue's remove compares with equals. A record's generated
     * equals would also pin this bundle revision after an update and refresh (docs/rules.md
     * LC-revision): its first call links through a method handle of the JDK's that caches the last
     * type adapted to, this record class, in a static field, until some other record's equals
     * replaces it (architecture.md, hot swap).
     */
    private record Request(SelectionKey key, SocketChannel channel, Handshake.Hello hello, InetSocketAddress peer)
            implements ConnectionRequest {
        @Override
        public byte[] callerData() {
            return hello.callerData().clone();
        }

        @Override
        public boolean equals(Object other) {
            return this == other;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }
    }

    /** Listens at {@code at}; requests are taken only after {@link #start}. Application thread. */
    UcxListener(UcxTransport owner, UcxSocket socket, InetSocketAddress at, int backlog) throws WsaException {
        this.owner = owner;
        this.socket = socket;
        this.backlog = backlog == Winsock.SOMAXCONN ? 1024 : Math.max(1, backlog);
        ServerSocketChannel listening;
        try {
            listening = ServerSocketChannel.open();
            try {
                Rendezvous.listenSocket(listening, at, this.backlog);
            } catch (IOException e) {
                Rendezvous.closeQuietly(listening);
                throw UcxSocket.bindError(at, e);
            }
            address = (InetSocketAddress) listening.getLocalAddress();
        } catch (IOException e) {
            throw new WsaException(WsaError.WSAENETDOWN, "listen on " + at + ": " + e.getMessage(), e);
        }
        server = listening;
    }

    InetSocketAddress address() {
        return address;
    }

    /** Takes connections from now on: every one runs the server handshake. */
    void start() {
        ServerSocketChannel listening = server;
        owner.rendezvous().register(listening, SelectionKey.OP_ACCEPT, new Rendezvous.Handler() {
            @Override
            public void ready(SelectionKey key) throws IOException {
                for (SocketChannel ch; (ch = listening.accept()) != null;) {
                    ch.configureBlocking(false);
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    ServerHandshake.begin(owner.rendezvous(), owner.key(), ch, UcxListener.this::requested);
                }
            }

            @Override
            public void lost(IOException cause) {
                LOG.debug("listener {} stopped accepting", address, cause);
            }
        });
    }

    /** A peer proved the key and asks to connect: queued for the switch's condition function. Rendezvous thread. */
    private void requested(SelectionKey key, SocketChannel channel, Handshake.Hello hello, InetSocketAddress peer) {
        if (socket.isEnded() || requests.size() >= backlog) {
            refuse(owner.key(), key, channel, hello); // docs/rules.md EV-backlog: a full backlog refuses at once, with no event
            return;
        }
        requests.add(new Request(key, channel, hello, peer));
        owner.events().connectionRequested(socket);
    }

    private static void refuse(RendezvousKey secret, SelectionKey key, SocketChannel channel, Handshake.Hello hello) {
        try {
            Rendezvous.writeNow(channel, Handshake.refused(secret, hello));
        } catch (IOException e) {
            LOG.debug("refusing {}", channel, e);
        }
        key.cancel();
        Rendezvous.closeQuietly(channel);
    }

    ConnectionRequest peek() {
        return requests.peekFirst();
    }

    /** A new connection to the peer of a queued {@code request}: its endpoint, then the acceptance. */
    UcxSocket accept(ConnectionRequest request) throws WsaException {
        if (!(request instanceof Request r) || !requests.remove(r)) {
            throw new WsaException(WsaError.WSAEINVAL, "not a queued request of this socket");
        }
        UcxSocket accepted = owner.newConnection();
        try {
            accepted.openEndpointNow(r.hello().workerAddress(), r.hello().connId(),
                    DescriptorSeal.derive(owner.key(), r.hello().clientNonce(), r.hello().serverNonce(), false));
            Rendezvous.writeNow(r.channel(),
                    Handshake.accepted(owner.key(), r.hello(), accepted.connectionId(), owner.workerAddress()));
        } catch (WsaException | IOException e) {
            accepted.reset();
            r.key().cancel();
            owner.rendezvous().release(r.channel(), true);
            throw new WsaException(WsaError.WSAECONNRESET, "the peer left before the accept: " + e.getMessage(), e);
        }
        accepted.acceptedOn(address, r.key(), r.channel());
        return accepted;
    }

    void reject(ConnectionRequest request) {
        if (request instanceof Request r && requests.remove(r)) {
            owner.rendezvous().execute(() -> refuse(owner.key(), r.key(), r.channel(), r.hello()));
        }
    }

    /** Stops listening and refuses the queued requests (docs/rules.md Q17). Any application thread; once. */
    void close() {
        ServerSocketChannel s = server;
        if (s == null) {
            return;
        }
        server = null;
        owner.rendezvous().release(s, false);
        for (Request r; (r = requests.poll()) != null;) {
            Request q = r;
            owner.rendezvous().execute(() -> refuse(owner.key(), q.key(), q.channel(), q.hello())); // docs/rules.md Q17
        }
    }
}
