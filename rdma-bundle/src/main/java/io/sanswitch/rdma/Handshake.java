package io.sanswitch.rdma;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The rendezvous handshake (docs/security.md, SEC-1 to SEC-3): a challenge–response on the shared
 * key, so that nothing a peer sends reaches UCX before the peer proved it holds the key, and every
 * length bounded before it is used. Big-endian:
 *
 * <pre>
 * challenge  listener -> client  MAGIC | VERSION | serverNonce:32                 sent on accept
 * hello      client -> listener  MAGIC | VERSION | clientNonce:32 | bodyLength:4 | body | mac:32
 *            body = connId:8 | addressLength:4 | workerAddress | dataLength:4 | callerData
 *            mac  = HMAC(key, "hello" label, serverNonce, clientNonce, body)
 * accepted   listener -> client  ACCEPTED | bodyLength:4 | body | mac:32
 *            body = connId:8 | addressLength:4 | workerAddress
 *            mac  = HMAC(key, "accepted" label, clientNonce, serverNonce, body)
 * refused    listener -> client  REFUSED | mac:32, mac = HMAC(key, "refused" label, clientNonce, serverNonce)
 * </pre>
 *
 * Both nonces are fresh per connection, so a recorded hello or answer proves nothing on another
 * connection; the labels keep a hello's proof from passing for an answer. Parsers return the
 * message, null while more bytes are needed, or throw {@link Refused} naming what is wrong; they
 * never allocate more than {@link #MAX_MESSAGE} bytes. Stateless; any thread.
 */
final class Handshake {
    static final int MAGIC = 0x53414E58; // "SANX"
    static final int VERSION = 2;
    static final byte ACCEPTED = 0;
    static final byte REFUSED = 1;
    static final int NONCE = 32;
    static final int MAC = 32;
    /** The largest worker address the format check takes (SEC-3): no longer one is read off the wire. */
    static final int MAX_WORKER_ADDRESS = WorkerAddressFormat.MAX_BYTES;
    /** What the SPI's connect may carry to the listener's condition function. */
    static final int MAX_CALLER_DATA = 4 * 1024;
    static final int CHALLENGE = 4 + 4 + NONCE;
    private static final int HELLO_HEADER = 4 + 4 + NONCE + 4;
    private static final int HELLO_BODY_MIN = 8 + 4 + 4;
    private static final int HELLO_BODY_MAX = HELLO_BODY_MIN + MAX_WORKER_ADDRESS + MAX_CALLER_DATA;
    private static final int ACCEPTED_BODY_MIN = 8 + 4;
    private static final int ACCEPTED_BODY_MAX = ACCEPTED_BODY_MIN + MAX_WORKER_ADDRESS;
    /** The longest message either side may send; a reader never holds more. */
    static final int MAX_MESSAGE = HELLO_HEADER + HELLO_BODY_MAX + MAC;

    private static final byte[] HELLO_LABEL = label("hello");
    private static final byte[] ACCEPTED_LABEL = label("accepted");
    private static final byte[] REFUSED_LABEL = label("refused");

    private Handshake() {
    }

    private static byte[] label(String what) {
        return ("sanswitch-ucx-rendezvous-v2 " + what).getBytes(StandardCharsets.US_ASCII);
    }

    /** The handshake is refused: the reason, for the one log line. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;

        Refused(String reason) {
            super(reason);
        }
    }

    /** A client's proven hello. */
    record Hello(long connId, byte[] workerAddress, byte[] callerData, byte[] clientNonce, byte[] serverNonce) {
    }

    /** The listener's proven answer; {@code workerAddress} is null when refused. */
    record Reply(boolean accepted, long connId, byte[] workerAddress) {
    }

    static ByteBuffer challenge(byte[] serverNonce) {
        return ByteBuffer.allocate(CHALLENGE).putInt(MAGIC).putInt(VERSION).put(serverNonce).flip();
    }

    static ByteBuffer hello(RendezvousKey key, byte[] serverNonce, byte[] clientNonce, long connId, byte[] workerAddress,
            byte[] callerData) {
        byte[] body = ByteBuffer.allocate(HELLO_BODY_MIN + workerAddress.length + callerData.length).putLong(connId)
                .putInt(workerAddress.length).put(workerAddress).putInt(callerData.length).put(callerData).array();
        return ByteBuffer.allocate(HELLO_HEADER + body.length + MAC).putInt(MAGIC).putInt(VERSION).put(clientNonce)
                .putInt(body.length).put(body).put(key.mac(HELLO_LABEL, serverNonce, clientNonce, body)).flip();
    }

    static ByteBuffer accepted(RendezvousKey key, Hello hello, long connId, byte[] workerAddress) {
        byte[] body = ByteBuffer.allocate(ACCEPTED_BODY_MIN + workerAddress.length).putLong(connId)
                .putInt(workerAddress.length).put(workerAddress).array();
        return ByteBuffer.allocate(1 + 4 + body.length + MAC).put(ACCEPTED).putInt(body.length).put(body)
                .put(key.mac(ACCEPTED_LABEL, hello.clientNonce(), hello.serverNonce(), body)).flip();
    }

    static ByteBuffer refused(RendezvousKey key, Hello hello) {
        return ByteBuffer.allocate(1 + MAC).put(REFUSED)
                .put(key.mac(REFUSED_LABEL, hello.clientNonce(), hello.serverNonce())).flip();
    }

    /** The listener's nonce from a challenge, or null while incomplete. */
    static byte[] challenge(ByteBuffer in) throws Refused {
        ByteBuffer b = in.duplicate();
        if (!magicAndVersion(b)) {
            return null;
        }
        if (b.remaining() < NONCE) {
            return null;
        }
        byte[] nonce = bytes(b, NONCE);
        if (b.hasRemaining()) {
            throw new Refused("the listener sent more than its challenge");
        }
        return nonce;
    }

    /** The client's hello, once complete and proven; null while incomplete. */
    static Hello hello(ByteBuffer in, RendezvousKey key, byte[] serverNonce) throws Refused {
        ByteBuffer b = in.duplicate();
        if (!magicAndVersion(b) || b.remaining() < NONCE + 4) {
            return null;
        }
        byte[] clientNonce = bytes(b, NONCE);
        int length = b.getInt();
        if (length < HELLO_BODY_MIN || length > HELLO_BODY_MAX) {
            throw new Refused("a hello body of " + length + " bytes (allowed " + HELLO_BODY_MIN + ".." + HELLO_BODY_MAX + ")");
        }
        if (b.remaining() < length + MAC) {
            return null;
        }
        byte[] body = bytes(b, length);
        byte[] proof = bytes(b, MAC);
        if (b.hasRemaining()) {
            throw new Refused("bytes after the hello");
        }
        if (!key.verify(proof, HELLO_LABEL, serverNonce, clientNonce, body)) {
            throw new Refused("the hello's proof of the shared key is wrong (a peer without the key, or another key)");
        }
        ByteBuffer fields = ByteBuffer.wrap(body);
        long connId = fields.getLong();
        byte[] address = field(fields, MAX_WORKER_ADDRESS, "worker address");
        byte[] data = field(fields, MAX_CALLER_DATA, "caller data");
        if (fields.hasRemaining()) {
            throw new Refused(fields.remaining() + " bytes after the hello's fields");
        }
        return new Hello(connId, address, data, clientNonce, serverNonce.clone());
    }

    /** The listener's answer, once complete and proven; null while incomplete. */
    static Reply reply(ByteBuffer in, RendezvousKey key, byte[] clientNonce, byte[] serverNonce) throws Refused {
        ByteBuffer b = in.duplicate();
        if (!b.hasRemaining()) {
            return null;
        }
        byte status = b.get();
        if (status == REFUSED) {
            if (b.remaining() < MAC) {
                return null;
            }
            byte[] proof = bytes(b, MAC);
            if (b.hasRemaining() || !key.verify(proof, REFUSED_LABEL, clientNonce, serverNonce)) {
                throw new Refused("a refusal without the proof of the shared key");
            }
            return new Reply(false, 0, null);
        }
        if (status != ACCEPTED) {
            throw new Refused("an answer of unknown status " + status);
        }
        if (b.remaining() < 4) {
            return null;
        }
        int length = b.getInt();
        if (length < ACCEPTED_BODY_MIN || length > ACCEPTED_BODY_MAX) {
            throw new Refused("an answer body of " + length + " bytes (allowed " + ACCEPTED_BODY_MIN + ".."
                    + ACCEPTED_BODY_MAX + ")");
        }
        if (b.remaining() < length + MAC) {
            return null;
        }
        byte[] body = bytes(b, length);
        byte[] proof = bytes(b, MAC);
        if (b.hasRemaining()) {
            throw new Refused("bytes after the answer");
        }
        if (!key.verify(proof, ACCEPTED_LABEL, clientNonce, serverNonce, body)) {
            throw new Refused("the answer's proof of the shared key is wrong (a listener without the key, or another key)");
        }
        ByteBuffer fields = ByteBuffer.wrap(body);
        long connId = fields.getLong();
        byte[] address = field(fields, MAX_WORKER_ADDRESS, "worker address");
        if (fields.hasRemaining()) {
            throw new Refused(fields.remaining() + " bytes after the answer's fields");
        }
        return new Reply(true, connId, address);
    }

    /** Checks magic and version once present; false while fewer than 8 bytes are there. */
    private static boolean magicAndVersion(ByteBuffer b) throws Refused {
        if (b.remaining() >= 4 && b.getInt(b.position()) != MAGIC) {
            throw new Refused("not a sanswitch UCX peer (magic 0x" + Integer.toHexString(b.getInt(b.position())) + ")");
        }
        if (b.remaining() < 8) {
            return false;
        }
        b.getInt();
        int version = b.getInt();
        if (version != VERSION) {
            throw new Refused("handshake version " + version + ", this side speaks " + VERSION);
        }
        return true;
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static byte[] field(ByteBuffer b, int max, String what) throws Refused {
        if (b.remaining() < 4) {
            throw new Refused("the " + what + "'s length is missing");
        }
        int length = b.getInt();
        if (length < 0 || length > max || length > b.remaining()) {
            throw new Refused("a " + what + " of " + length + " bytes (at most " + Math.min(max, b.remaining()) + " here)");
        }
        return bytes(b, length);
    }

    /**
     * Accumulates one handshake message from a nonblocking channel, never more than
     * {@link #MAX_MESSAGE} bytes. Rendezvous thread only.
     */
    static final class Reader {
        private ByteBuffer in = ByteBuffer.allocate(512);

        /**
         * Reads what is there.
         *
         * @return false at end of stream
         * @throws Refused when the peer sends more than any message may hold
         */
        boolean read(SocketChannel channel) throws IOException {
            if (!in.hasRemaining()) {
                if (in.capacity() >= MAX_MESSAGE) {
                    throw new Refused("a handshake message longer than " + MAX_MESSAGE + " bytes");
                }
                ByteBuffer bigger = ByteBuffer.allocate(Math.min(MAX_MESSAGE, in.capacity() * 2));
                bigger.put(in.flip());
                in = bigger;
            }
            return channel.read(in) >= 0;
        }

        /** What was read so far (a read-only view). */
        ByteBuffer received() {
            return in.duplicate().flip().asReadOnlyBuffer();
        }

        /** Forgets what was read (the next message starts). */
        void clear() {
            in = ByteBuffer.allocate(512);
        }
    }
}
