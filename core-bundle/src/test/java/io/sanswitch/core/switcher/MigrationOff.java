package io.sanswitch.core.switcher;

/**
 * Settings with {@code migrate} off, for tests whose subject holds only without migration ({@code migrate} is on
 * by default, docs/migration.md): exact provider calls and sockets (with it on the switch opens its resume ports,
 * provider sockets of their own, docs/rules.md SW-migrate-port, SW-migrate-back), HELLO's bytes on the wire (bit 1,
 * FLAG_MIGRATES, SW-migrate-negotiated), the aborts a withdrawal brings (with it on a connection between two
 * switches moves instead, SW-migrate-trigger).
 */
public final class MigrationOff {

    private MigrationOff() {
    }

    /** {@code s} with {@code migrate} off, the rest as it is. */
    public static SwitchSettings of(SwitchSettings s) {
        return s.withMigration(s.migration().withMigrate(false));
    }

    /** {@link SwitchSettings#withSubnets} with {@code migrate} off. */
    public static SwitchSettings withSubnets(String... cidrs) {
        return of(SwitchSettings.withSubnets(cidrs));
    }
}
