package io.sanswitch.core.switcher;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A migratable session's identity (docs/migration.md section 2): 16 random bytes chosen by the side
 * that connected. Not a secret (it travels in clear in RESUME_HELLO); knowing it resumes nothing
 * without the session key's proof.
 */
final class SessionId {
    static final int BYTES = 16;

    private final byte[] id;

    private SessionId(byte[] id) {
        this.id = id;
    }

    static SessionId random(SecureRandom random) {
        byte[] b = new byte[BYTES];
        random.nextBytes(b);
        return new SessionId(b);
    }

    /**
     * @throws IllegalArgumentException not {@value #BYTES} bytes
     */
    static SessionId of(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a session id has " + BYTES + " bytes, not " + bytes.length);
        }
        return new SessionId(bytes.clone());
    }

    byte[] bytes() {
        return id.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionId s && Arrays.equals(id, s.id);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(id);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(id);
    }
}
