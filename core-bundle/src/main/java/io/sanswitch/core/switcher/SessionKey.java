package io.sanswitch.core.switcher;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A migratable session's key (docs/migration.md section 2): HMAC-SHA256 keyed by the connector's
 * secret over {@code "sanswitch-session-key" | id | acceptor's secret}. Both sides compute it from the
 * two SESSION frames; it never crosses TCP, only the proofs made with it do (section 3). Its bytes are
 * never printed.
 */
final class SessionKey {
    static final int SECRET_BYTES = 32;
    static final int KEY_BYTES = 32;
    private static final byte[] LABEL = "sanswitch-session-key".getBytes(StandardCharsets.US_ASCII);
    private static final String HMAC = "HmacSHA256";

    private final byte[] key;

    private SessionKey(byte[] key) {
        this.key = key;
    }

    /** A side's secret for its SESSION frame. */
    static byte[] newSecret(SecureRandom random) {
        byte[] s = new byte[SECRET_BYTES];
        random.nextBytes(s);
        return s;
    }

    /**
     * The session key both sides derive.
     *
     * @throws IllegalArgumentException a secret not of {@value #SECRET_BYTES} bytes
     */
    static SessionKey derive(byte[] connectorSecret, SessionId id, byte[] acceptorSecret) {
        if (connectorSecret.length != SECRET_BYTES || acceptorSecret.length != SECRET_BYTES) {
            throw new IllegalArgumentException("a session secret has " + SECRET_BYTES + " bytes, not "
                    + connectorSecret.length + " and " + acceptorSecret.length);
        }
        return new SessionKey(hmac(connectorSecret, LABEL, id.bytes(), acceptorSecret));
    }

    /** A key nobody knows: what an unknown session's proof is checked against, so it fails as a bad one does. */
    static SessionKey random(SecureRandom random) {
        byte[] k = new byte[KEY_BYTES];
        random.nextBytes(k);
        return new SessionKey(k);
    }

    /** A key of these bytes (tests, and the move once it has derived one elsewhere). */
    static SessionKey of(byte[] bytes) {
        if (bytes.length != KEY_BYTES) {
            throw new IllegalArgumentException("a session key has " + KEY_BYTES + " bytes, not " + bytes.length);
        }
        return new SessionKey(bytes.clone());
    }

    byte[] bytes() {
        return key.clone();
    }

    /** HMAC-SHA256 under this key over the parts, one after the other. */
    byte[] mac(byte[]... parts) {
        return hmac(key, parts);
    }

    private static byte[] hmac(byte[] key, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            // Every Java platform has HmacSHA256 (Mac's specification), and the key is never empty.
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionKey k && java.security.MessageDigest.isEqual(key, k.key);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key);
    }

    @Override
    public String toString() {
        return "SessionKey[not shown]";
    }
}
