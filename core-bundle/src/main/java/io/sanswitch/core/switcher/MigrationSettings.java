package io.sanswitch.core.switcher;

import java.time.Duration;

import io.sanswitch.config.ConfigReader;

/**
 * The settings of migration (docs/migration.md), part of PID {@value Switch#PID}: whether sessions on
 * an RDMA provider move to TCP when it goes away, and move back when it returns; the resume port; how
 * long a resume may take; how much a connection keeps of what the peer has not acknowledged, and how
 * often it acknowledges.
 */
public record MigrationSettings(boolean migrate, boolean moveBack, int resumePort, Duration resumeTimeout,
        int retentionBytes, int ackEveryBytes) {

    static final boolean MIGRATE = true;
    static final boolean MOVE_BACK = true;
    static final int RESUME_PORT = 0;
    static final int MAX_PORT = 65_535;
    static final int RESUME_TIMEOUT_MILLIS = 5000;
    static final int RETENTION_BYTES = 16 << 20;
    static final int MIN_RETENTION_BYTES = 256 << 10;
    static final int MAX_RETENTION_BYTES = 1 << 30;
    static final int ACK_EVERY_BYTES = 1 << 20;
    static final int MIN_ACK_EVERY_BYTES = 4 << 10;

    public MigrationSettings {
        if (resumePort < 0 || resumePort > MAX_PORT || retentionBytes < MIN_RETENTION_BYTES
                || ackEveryBytes < MIN_ACK_EVERY_BYTES || ackEveryBytes > retentionBytes / 2) {
            throw new IllegalArgumentException("migration settings out of range: " + resumePort + ", " + retentionBytes
                    + ", " + ackEveryBytes);
        }
    }

    /** Every default. */
    public static MigrationSettings defaults() {
        return new MigrationSettings(MIGRATE, MOVE_BACK, RESUME_PORT, Duration.ofMillis(RESUME_TIMEOUT_MILLIS),
                RETENTION_BYTES, ACK_EVERY_BYTES);
    }

    public MigrationSettings withMigrate(boolean on) {
        return new MigrationSettings(on, moveBack, resumePort, resumeTimeout, retentionBytes, ackEveryBytes);
    }

    public MigrationSettings withRetention(int bytes, int ackEvery) {
        return new MigrationSettings(migrate, moveBack, resumePort, resumeTimeout, bytes, ackEvery);
    }

    public MigrationSettings withResumeTimeout(Duration d) {
        return new MigrationSettings(migrate, moveBack, resumePort, d, retentionBytes, ackEveryBytes);
    }

    /**
     * Reads the migration properties; a bad value is refused (logged through {@code r}) and the last
     * good one stays. An {@code ackEveryBytes} above half the retention could never be sent before the
     * retention is full: it is refused too.
     */
    static MigrationSettings read(ConfigReader r, MigrationSettings lastGood) {
        boolean migrate = r.bool("migrate", MIGRATE, lastGood.migrate);
        boolean moveBack = r.bool("moveBack", MOVE_BACK, lastGood.moveBack);
        int port = r.integer("resumePort", 0, MAX_PORT, RESUME_PORT, lastGood.resumePort);
        int timeout = r.integer("resumeTimeoutMillis", 1, SwitchSettings.MAX_TIMEOUT_MILLIS, RESUME_TIMEOUT_MILLIS,
                (int) lastGood.resumeTimeout.toMillis());
        int retention = r.integer("retentionBytes", MIN_RETENTION_BYTES, MAX_RETENTION_BYTES, RETENTION_BYTES,
                lastGood.retentionBytes);
        int ackEvery = r.integer("ackEveryBytes", MIN_ACK_EVERY_BYTES, retention / 2,
                Math.min(ACK_EVERY_BYTES, retention / 2), Math.min(lastGood.ackEveryBytes, retention / 2));
        return new MigrationSettings(migrate, moveBack, port, Duration.ofMillis(timeout), retention, ackEvery);
    }
}
