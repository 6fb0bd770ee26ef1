package io.sanswitch.core.switcher;

import static io.sanswitch.core.switcher.SwitchSettings.CLOSE_TIMEOUT_MILLIS;
import static io.sanswitch.core.switcher.SwitchSettings.CONNECT_TIMEOUT_MILLIS;
import static io.sanswitch.core.switcher.SwitchSettings.FAILURE_MEMORY_SECONDS;
import static io.sanswitch.core.switcher.SwitchSettings.IO_THREADS;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_FAILURE_MEMORY_SECONDS;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_IO_THREADS;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_PORT_OFFSET;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_RDMA_THRESHOLD_BYTES;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_SUBNETS;
import static io.sanswitch.core.switcher.SwitchSettings.MAX_TIMEOUT_MILLIS;
import static io.sanswitch.core.switcher.SwitchSettings.RDMA_PORT_OFFSET;
import static io.sanswitch.core.switcher.SwitchSettings.RDMA_THRESHOLD_BYTES;
import static io.sanswitch.core.switcher.SwitchSettings.RDMA_TRANSPORT;
import static io.sanswitch.core.switcher.SwitchSettings.TCP_TRANSPORT;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

import io.sanswitch.transport.TransportProperties;

/**
 * The Metatype of PID {@code io.sanswitch.switch}. The switch reads the raw properties itself
 * ({@link SwitchSettings#read}): an annotation proxy would throw for a value such as "abc".
 */
@ObjectClassDefinition(name = "sanswitch switch",
        description = "Picks a provider per connection: RDMA for peers on SAN subnets while an RDMA provider runs,"
                + " else TCP. A value out of its range is logged and the last good one (at start: the default) is"
                + " used.")
public @interface SwitchConfig {

    @AttributeDefinition(name = "SAN subnets", description = "Subnets in CIDR notation (IPv4 dotted quad or IPv6"
            + " literal and prefix length, for example 192.168.10.0/24), at most " + MAX_SUBNETS + ", whose peers"
            + " are reached over RDMA. Added to the subnets an RDMA provider publishes itself (service property "
            + TransportProperties.SAN_SUBNETS + "). Entries that are not CIDRs are logged and left out.")
    String[] sanSubnets() default {};

    @AttributeDefinition(name = "RDMA failure memory (s)", description = "How long, in seconds (0 to "
            + MAX_FAILURE_MEMORY_SECONDS + "), a peer whose RDMA connect failed and fell back to TCP is reached over"
            + " TCP directly. 0 remembers nothing.", min = "0", max = "" + MAX_FAILURE_MEMORY_SECONDS)
    int rdmaFailureMemorySeconds() default FAILURE_MEMORY_SECONDS;

    @AttributeDefinition(name = "Connect timeout (ms)", description = "How long, in milliseconds (1 to "
            + MAX_TIMEOUT_MILLIS + "), an RDMA connect may take before the switch gives up on it (WSAETIMEDOUT)"
            + " and falls back to TCP; TCP connects get the same bound.", min = "1", max = "" + MAX_TIMEOUT_MILLIS)
    int connectTimeoutMillis() default CONNECT_TIMEOUT_MILLIS;

    @AttributeDefinition(name = "RDMA threshold (bytes)", description = "Sends larger than this many bytes (0 to "
            + MAX_RDMA_THRESHOLD_BYTES + ") move by RDMA on an RDMA provider; smaller ones travel inside control"
            + " messages. 0 takes the provider's SO_RDMA_THRESHOLD_SIZE.", min = "0",
            max = "" + MAX_RDMA_THRESHOLD_BYTES)
    int rdmaThresholdBytes() default RDMA_THRESHOLD_BYTES;

    @AttributeDefinition(name = "RDMA port offset", description = "An RDMA provider listens (and is connected to)"
            + " on the TCP port plus this offset (1 to " + MAX_PORT_OFFSET + "): its rendezvous takes a TCP port"
            + " of the same address.", min = "1", max = "" + MAX_PORT_OFFSET)
    int rdmaPortOffset() default RDMA_PORT_OFFSET;

    @AttributeDefinition(name = "RDMA flow", description = "How large blocks move (docs/rules.md BG-rdma-flows): AUTO or WRITE.",
            options = {
                @Option(value = "AUTO", label = "RDMA read where the receiving side's provider has it, else RDMA write"),
                @Option(value = "WRITE", label = "Always the write-based flow (receiver announces its buffer)")
            })
    String rdmaFlow() default "AUTO";

    @AttributeDefinition(name = "Preferred RDMA transport", description = "Of several RDMA-capable providers,"
            + " the one whose " + TransportProperties.TRANSPORT + " is this (letters, digits, '.', '_', '-';"
            + " at most 64).")
    String rdmaTransport() default RDMA_TRANSPORT;

    @AttributeDefinition(name = "Preferred TCP transport", description = "Of several providers without RDMA,"
            + " the one whose " + TransportProperties.TRANSPORT + " is this (letters, digits, '.', '_', '-';"
            + " at most 64).")
    String tcpTransport() default TCP_TRANSPORT;

    @AttributeDefinition(name = "I/O threads", description = "Threads (sanswitch-switch-io-*, 1 to " + MAX_IO_THREADS
            + ") that run the switch's connection logic and complete application operations. Read at activation.",
            min = "1", max = "" + MAX_IO_THREADS)
    int ioThreads() default IO_THREADS;

    @AttributeDefinition(name = "Close timeout (ms)", description = "How long, in milliseconds (1 to "
            + MAX_TIMEOUT_MILLIS + "), a graceful close waits for queued sends before it aborts the connection.",
            min = "1", max = "" + MAX_TIMEOUT_MILLIS)
    int closeTimeoutMillis() default CLOSE_TIMEOUT_MILLIS;

    @AttributeDefinition(name = "Migrate sessions", description = "Connections between two sanswitch switches on an"
            + " RDMA provider move to TCP when the provider goes away, instead of failing (docs/migration.md). On by"
            + " default; off, such a connection ends with its provider as before.")
    boolean migrate() default MigrationSettings.MIGRATE;

    @AttributeDefinition(name = "Move back", description = "Migrated sessions move back to RDMA once an RDMA provider"
            + " runs on both sides again.")
    boolean moveBack() default MigrationSettings.MOVE_BACK;

    @AttributeDefinition(name = "Resume port", description = "The TCP port (0 to " + MigrationSettings.MAX_PORT
            + ") on which this switch accepts the resumes of its sessions; 0 takes an ephemeral port, announced to"
            + " the peer on the RDMA connection.", min = "0", max = "" + MigrationSettings.MAX_PORT)
    int resumePort() default MigrationSettings.RESUME_PORT;

    @AttributeDefinition(name = "Resume timeout (ms)", description = "How long, in milliseconds (1 to "
            + MAX_TIMEOUT_MILLIS + "), a session may take to resume before its connection fails (WSAECONNRESET).",
            min = "1", max = "" + MAX_TIMEOUT_MILLIS)
    int resumeTimeoutMillis() default MigrationSettings.RESUME_TIMEOUT_MILLIS;

    @AttributeDefinition(name = "Retention (bytes)", description = "Per connection, how many sent bytes the peer has"
            + " not acknowledged are kept for a resume (" + MigrationSettings.MIN_RETENTION_BYTES + " to "
            + MigrationSettings.MAX_RETENTION_BYTES + "); when full, further sends wait.",
            min = "" + MigrationSettings.MIN_RETENTION_BYTES, max = "" + MigrationSettings.MAX_RETENTION_BYTES)
    int retentionBytes() default MigrationSettings.RETENTION_BYTES;

    @AttributeDefinition(name = "Acknowledge every (bytes)", description = "A receiver acknowledges at the latest after"
            + " this many bytes (" + MigrationSettings.MIN_ACK_EVERY_BYTES + " to half the retention).",
            min = "" + MigrationSettings.MIN_ACK_EVERY_BYTES)
    int ackEveryBytes() default MigrationSettings.ACK_EVERY_BYTES;
}
