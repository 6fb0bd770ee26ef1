package io.sanswitch.transport;

import java.net.InetSocketAddress;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A connection request queued on a listening {@link TransportSocket}, waiting for the switch's
 * condition function (docs/rules.md AC-condition): the peer is told nothing until the engine accepts or rejects it.
 */
@ConsumerType
public interface ConnectionRequest {
    InetSocketAddress peer();

    /** The peer's connect data; empty when none. */
    byte[] callerData();
}
