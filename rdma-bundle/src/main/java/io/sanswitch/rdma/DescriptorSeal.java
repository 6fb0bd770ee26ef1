package io.sanswitch.rdma;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The seal on the RDMA buffer descriptors of one connection (docs/rules.md RD-access): a MAC keyed
 * by a secret both ends derive from the shared key and the two nonces of the connection's
 * handshake, over the descriptor's bytes and the exposing side's role. UCX's remote keys are not
 * bound to an endpoint and its software lanes (self, shared memory, tcp) check none of them, so
 * the initiating provider checks here that a descriptor was made for this connection by its peer:
 * a descriptor of another connection (even between the same two providers), one the application
 * altered, or one of this side's own exposures does not verify and is refused.
 *
 * <p>Immutable; any thread. A descriptor is verified once per connection and then cached by the
 * socket, so the data path pays a map lookup, not a MAC.
 */
final class DescriptorSeal {
    /** Bytes of the seal a descriptor ends with (a truncated HMAC-SHA256). */
    static final int BYTES = 16;
    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] LABEL = "sanswitch-ucx-descriptor-v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte CLIENT = 'c';
    private static final byte SERVER = 's';

    private final SecretKeySpec secret;
    private final byte own;
    private final byte peer;

    private DescriptorSeal(byte[] secret, boolean client) {
        this.secret = new SecretKeySpec(secret, ALGORITHM);
        this.own = client ? CLIENT : SERVER;
        this.peer = client ? SERVER : CLIENT;
    }

    /** The seal of a connection whose handshake used these nonces, for its client or its listener side. */
    static DescriptorSeal derive(RendezvousKey key, byte[] clientNonce, byte[] serverNonce, boolean client) {
        return new DescriptorSeal(key.mac(LABEL, clientNonce, serverNonce), client);
    }

    /** A seal with a given secret (tests: both sides of a made-up connection). */
    static DescriptorSeal of(byte[] secret, boolean client) {
        return new DescriptorSeal(secret.clone(), client);
    }

    /** The seal this side puts on a descriptor whose other bytes are {@code body}. */
    byte[] seal(byte[] body, int length) {
        return Arrays.copyOf(mac(own, body, length), BYTES);
    }

    /** Whether {@code bytes} ends with the seal the peer puts on its descriptors; in time independent of the bytes. */
    boolean sealedByPeer(byte[] bytes) {
        if (bytes.length < BYTES) {
            return false;
        }
        int body = bytes.length - BYTES;
        byte[] expected = Arrays.copyOf(mac(peer, bytes, body), BYTES);
        return MessageDigest.isEqual(expected, Arrays.copyOfRange(bytes, body, bytes.length));
    }

    private byte[] mac(byte role, byte[] body, int length) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(secret);
            mac.update(role);
            mac.update(body, 0, length);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }
}
