package io.sanswitch.rdma;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.WsaError;

/**
 * The connecting side of one handshake ({@link Handshake}): waits for the listener's challenge,
 * sends the proven hello, and hands on only an answer the listener proved with the shared key, so
 * no listener without the key gets this side to give UCX an address (docs/security.md, SEC-1).
 * Rendezvous thread only.
 */
final class ClientHandshake implements Rendezvous.Handler, Rendezvous.Timed {
    private static final Logger LOG = LoggerFactory.getLogger(ClientHandshake.class);

    /** What the handshake ends in; called once, on the rendezvous thread. */
    interface Outcome {
        /**
         * Accepted: the channel (its key's interest cleared) is the caller's from now on; {@code seal}
         * is the connection's seal on RDMA buffer descriptors.
         */
        void accepted(SelectionKey key, SocketChannel channel, Handshake.Reply reply, DescriptorSeal seal);

        /** Refused, failed or timed out; the channel is closed. */
        void failed(WsaError error);
    }

    private enum Step { CONNECTING, AWAITING_CHALLENGE, AWAITING_ANSWER, ENDED }

    private final RendezvousKey key;
    private final SocketChannel channel;
    private final InetSocketAddress remote;
    private final byte[] nonce;
    private final long connId;
    private final byte[] workerAddress;
    private final byte[] callerData;
    private final Outcome outcome;
    private final Handshake.Reader reader = new Handshake.Reader();
    private Step step;
    private byte[] serverNonce;

    ClientHandshake(Rendezvous rendezvous, RendezvousKey key, SocketChannel channel, InetSocketAddress remote,
            boolean connected, long connId, byte[] workerAddress, byte[] callerData, Outcome outcome) {
        this.key = key;
        this.channel = channel;
        this.remote = remote;
        this.nonce = rendezvous.nonce();
        this.connId = connId;
        this.workerAddress = workerAddress;
        this.callerData = callerData;
        this.outcome = outcome;
        this.step = connected ? Step.AWAITING_CHALLENGE : Step.CONNECTING;
    }

    /** The interest to register the channel with. */
    int initialInterest() {
        return step == Step.CONNECTING ? SelectionKey.OP_CONNECT : SelectionKey.OP_READ;
    }

    @Override
    public void ready(SelectionKey selectionKey) throws IOException {
        if (step == Step.CONNECTING) {
            if (!channel.finishConnect()) {
                return;
            }
            step = Step.AWAITING_CHALLENGE;
            selectionKey.interestOps(SelectionKey.OP_READ);
            return;
        }
        if (!reader.read(channel)) {
            throw new EOFException("the listener closed the connection during the handshake");
        }
        if (step == Step.AWAITING_CHALLENGE) {
            serverNonce = Handshake.challenge(reader.received());
            if (serverNonce != null) {
                reader.clear();
                step = Step.AWAITING_ANSWER;
                ByteBuffer hello = Handshake.hello(key, serverNonce, nonce, connId, workerAddress, callerData);
                Rendezvous.writeNow(channel, hello);
            }
            return;
        }
        Handshake.Reply reply = Handshake.reply(reader.received(), key, nonce, serverNonce);
        if (reply == null) {
            return;
        }
        step = Step.ENDED;
        selectionKey.interestOps(0);
        if (reply.accepted()) {
            outcome.accepted(selectionKey, channel, reply, DescriptorSeal.derive(key, nonce, serverNonce, true));
        } else {
            selectionKey.cancel();
            Rendezvous.closeQuietly(channel);
            outcome.failed(WsaError.WSAECONNREFUSED);
        }
    }

    @Override
    public void lost(IOException cause) {
        if (step == Step.ENDED) {
            return;
        }
        Step was = step;
        step = Step.ENDED;
        Rendezvous.closeQuietly(channel);
        WsaError error;
        if (cause instanceof Handshake.Refused) {
            LOG.warn("ucx rendezvous: the listener at {} failed the handshake: {}", remote, cause.getMessage());
            error = WsaError.WSAECONNREFUSED;
        } else if (cause instanceof EOFException && was != Step.CONNECTING) {
            error = WsaError.WSAECONNREFUSED; // the listener went away before answering (docs/rules.md Q17)
        } else {
            if (was == Step.AWAITING_ANSWER) {
                // A listener refuses a hello it cannot verify by resetting the connection.
                LOG.warn("ucx rendezvous: the listener at {} reset the handshake after the hello ({}); does it hold"
                        + " another shared key?", remote, cause.getMessage());
            }
            error = UcxSocket.connectError(cause);
        }
        outcome.failed(error);
    }

    @Override
    public boolean ended() {
        return step == Step.ENDED;
    }

    @Override
    public void expire(String reason) {
        if (step == Step.ENDED) {
            return;
        }
        step = Step.ENDED;
        LOG.warn("ucx rendezvous: connecting to {}: {}", remote, reason);
        Rendezvous.closeQuietly(channel);
        outcome.failed(WsaError.WSAETIMEDOUT);
    }
}
