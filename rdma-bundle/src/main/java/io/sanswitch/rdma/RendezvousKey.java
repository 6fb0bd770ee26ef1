package io.sanswitch.rdma;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The installation's shared secret, which every peer of the UCX rendezvous must prove it holds
 * before any byte of its reaches UCX (docs/security.md, rule SEC-1). Like an Erlang cookie: given
 * in the configuration, or read from a key file that is generated on first use, so one host works
 * with zero configuration and other hosts join by getting a copy of the file.
 *
 * <p>The key is text (at least {@link #MIN_CHARACTERS} characters, surrounding white space
 * ignored); its UTF-8 bytes key HMAC-SHA256. Immutable; its text is never logged.
 */
final class RendezvousKey {
    private static final Logger LOG = LoggerFactory.getLogger(RendezvousKey.class);
    static final int MIN_CHARACTERS = 16;
    /** A key file is a line of text; anything longer is not a key file. */
    private static final int MAX_FILE_BYTES = 4096;
    private static final String ALGORITHM = "HmacSHA256";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final SecretKeySpec key;
    private final String origin;

    private RendezvousKey(String text, String origin) {
        String stripped = text.strip();
        if (stripped.length() < MIN_CHARACTERS) {
            throw new IllegalArgumentException(origin + ": the shared key has " + stripped.length()
                    + " characters, at least " + MIN_CHARACTERS + " are needed");
        }
        this.key = new SecretKeySpec(stripped.getBytes(StandardCharsets.UTF_8), ALGORITHM);
        this.origin = origin;
    }

    /**
     * Where a key comes from: the configured text when there is one, else the file (generated
     * there when missing).
     */
    record Source(String sharedKey, Path file) {
        /** No configuration: the default file. */
        static Source defaults() {
            return new Source("", defaultFile());
        }

        /** @throws IOException or IllegalArgumentException saying what is wrong with the key */
        RendezvousKey load() throws IOException {
            return sharedKey == null || sharedKey.isBlank() ? fromFile(file) : of(sharedKey);
        }

        /** Never the key itself. */
        @Override
        public String toString() {
            return sharedKey == null || sharedKey.isBlank() ? "key file " + file : "the configured sharedKey";
        }
    }

    /** The key given in the configuration. */
    static RendezvousKey of(String text) {
        return new RendezvousKey(text, "the configured sharedKey");
    }

    /** Where the key lives when nothing is configured: one per user, like {@code ~/.erlang.cookie}. */
    static Path defaultFile() {
        return Path.of(System.getProperty("user.home"), ".sanswitch", "rdma.key");
    }

    /**
     * The key in {@code file}, generated there (256 random bits, readable by its owner only)
     * when the file does not exist. A file that others may read is refused, as Erlang refuses
     * such a cookie: whoever reads it can talk to UCX here.
     *
     * @throws IOException naming the file and what is wrong with it
     */
    static RendezvousKey fromFile(Path file) throws IOException {
        if (!Files.exists(file)) {
            generate(file);
        }
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file + " is not a key file (" + Files.size(file) + " bytes)");
        }
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            for (PosixFilePermission p : permissions) {
                if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                    throw new IOException(file + " may be read or written by others ("
                            + PosixFilePermissions.toString(permissions) + "); allow its owner only: chmod 600 " + file);
                }
            }
        } catch (UnsupportedOperationException notPosix) {
            LOG.debug("no POSIX permissions to check on {}", file);
        }
        try {
            return new RendezvousKey(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Writes a new key to a private temporary file and links it into place, so a process that
     * reads the file never sees half a key, and of two processes generating at once one wins and
     * both use its key.
     */
    private static void generate(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Path temp = Files.createTempFile(dir, ".rdma-key", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        try {
            Files.writeString(temp, HexFormat.of().formatHex(secret) + "\n", StandardCharsets.UTF_8);
            Files.createLink(file, temp);
            LOG.info("generated the UCX rendezvous' shared key in {}; peers on other hosts need the same key:"
                    + " copy this file to them (mode 600), or set sharedKey of PID {} on every host", file,
                    UcxTransportComponent.PID);
        } catch (FileAlreadyExistsException anotherProcessWon) {
            LOG.debug("{} was generated by another process meanwhile", file);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** HMAC-SHA256 over the parts, in order. */
    byte[] mac(byte[]... parts) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            for (byte[] part : parts) {
                mac.update(part);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    /** Whether {@code proof} is the MAC of the parts; in time independent of where they differ. */
    boolean verify(byte[] proof, byte[]... parts) {
        return MessageDigest.isEqual(mac(parts), proof);
    }

    /** Where the key came from; never the key. */
    @Override
    public String toString() {
        return "shared key from " + origin;
    }
}
