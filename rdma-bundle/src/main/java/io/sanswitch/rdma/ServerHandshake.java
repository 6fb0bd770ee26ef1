package io.sanswitch.rdma;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener's side of one handshake ({@link Handshake}): sends the challenge on accept, reads
 * the hello, and hands on only a hello proven with the shared key. Anything else — a wrong proof, a
 * malformed or oversized message, silence past the timeout, a peer that leaves — is one log line
 * with the peer's address and the reason, and a reset (docs/security.md, SEC-1, SEC-4). Rendezvous
 * thread only.
 */
final class ServerHandshake implements Rendezvous.Handler, Rendezvous.Timed {
    private static final Logger LOG = LoggerFactory.getLogger(ServerHandshake.class);

    /** Who gets a proven hello; from then on the channel (its key's interest cleared) is theirs. */
    @FunctionalInterface
    interface Proven {
        void hello(SelectionKey key, SocketChannel channel, Handshake.Hello hello, InetSocketAddress peer);
    }

    private final Rendezvous rendezvous;
    private final RendezvousKey key;
    private final SocketChannel channel;
    private final InetSocketAddress peer;
    private final byte[] nonce;
    private final Proven proven;
    private final Handshake.Reader reader = new Handshake.Reader();
    private boolean ended;

    private ServerHandshake(Rendezvous rendezvous, RendezvousKey key, SocketChannel channel, Proven proven) {
        this.rendezvous = rendezvous;
        this.key = key;
        this.channel = channel;
        this.peer = Rendezvous.remoteOf(channel);
        this.nonce = rendezvous.nonce();
        this.proven = proven;
    }

    /** Starts the handshake of a connection just accepted (nonblocking). Rendezvous thread. */
    static void begin(Rendezvous rendezvous, RendezvousKey key, SocketChannel channel, Proven proven) {
        ServerHandshake h = new ServerHandshake(rendezvous, key, channel, proven);
        try {
            Rendezvous.writeNow(channel, Handshake.challenge(h.nonce));
        } catch (IOException e) {
            h.refuse(e.getMessage());
            return;
        }
        rendezvous.register(channel, SelectionKey.OP_READ, h);
        rendezvous.timeInbound(h);
    }

    @Override
    public void ready(SelectionKey selectionKey) throws IOException {
        if (!reader.read(channel)) {
            throw new EOFException("the peer closed the connection during the handshake");
        }
        Handshake.Hello hello = Handshake.hello(reader.received(), key, nonce);
        if (hello != null) {
            ended = true;
            selectionKey.interestOps(0);
            proven.hello(selectionKey, channel, hello, peer);
        }
    }

    @Override
    public void lost(IOException cause) {
        refuse(cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
    }

    @Override
    public boolean ended() {
        return ended;
    }

    @Override
    public void expire(String reason) {
        refuse(reason);
    }

    private void refuse(String reason) {
        if (ended) {
            return;
        }
        ended = true;
        LOG.warn("ucx rendezvous: refused the handshake of {}: {}", peer, reason);
        Rendezvous.resetQuietly(channel);
    }
}
