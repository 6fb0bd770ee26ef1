package io.sanswitch.core.switcher;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** Configuration of the switch, PID {@code io.sanswitch.switch}. */
@ObjectClassDefinition(name = "sanswitch switch",
        description = "Picks a provider per connection: RDMA for peers on SAN subnets while an RDMA provider runs, else TCP.")
public @interface SwitchConfig {

    @AttributeDefinition(name = "SAN subnets", description = "Subnets in CIDR notation (for example 192.168.10.0/24)"
            + " whose peers are reached over RDMA. Added to the subnets an RDMA provider publishes itself"
            + " (service property sanswitch.san.subnets). Entries that are not CIDRs are logged and left out.")
    String[] sanSubnets() default {};

    @AttributeDefinition(name = "RDMA failure memory (s)", description = "How long, in seconds, a peer whose RDMA"
            + " connect failed and fell back to TCP is reached over TCP directly. 0 remembers nothing.")
    int rdmaFailureMemorySeconds() default 30;

    @AttributeDefinition(name = "Connect timeout (ms)", description = "How long, in milliseconds, an RDMA connect"
            + " may take before the switch gives up on it (WSAETIMEDOUT) and falls back to TCP; TCP connects get"
            + " the same bound.")
    int connectTimeoutMillis() default 3000;

    @AttributeDefinition(name = "RDMA threshold (bytes)", description = "Sends larger than this many bytes move"
            + " by RDMA on an RDMA provider; smaller ones travel inside control messages. 0 takes the provider's"
            + " SO_RDMA_THRESHOLD_SIZE.")
    int rdmaThresholdBytes() default 0;

    @AttributeDefinition(name = "RDMA port offset", description = "An RDMA provider listens (and is connected to)"
            + " on the TCP port plus this offset: its rendezvous takes a TCP port of the same address.")
    int rdmaPortOffset() default 1;

    @AttributeDefinition(name = "RDMA flow", description = "How large blocks move (spec 6.7).", options = {
        @Option(value = "AUTO", label = "RDMA read where the receiving side's provider has it, else RDMA write"),
        @Option(value = "WRITE", label = "Always the write-based flow (receiver announces its buffer)")
    })
    String rdmaFlow() default "AUTO";

    @AttributeDefinition(name = "Preferred RDMA transport", description = "Of several RDMA-capable providers,"
            + " the one whose sanswitch.transport is this.")
    String rdmaTransport() default "ucx";

    @AttributeDefinition(name = "Preferred TCP transport", description = "Of several providers without RDMA,"
            + " the one whose sanswitch.transport is this.")
    String tcpTransport() default "tcp";

    @AttributeDefinition(name = "I/O threads", description = "Threads (sanswitch-switch-io-*) that run the"
            + " switch's connection logic and complete application operations. Read at activation.")
    int ioThreads() default 2;

    @AttributeDefinition(name = "Close timeout (ms)", description = "How long a graceful close waits for queued"
            + " sends before it aborts the connection.")
    int closeTimeoutMillis() default 10000;
}
