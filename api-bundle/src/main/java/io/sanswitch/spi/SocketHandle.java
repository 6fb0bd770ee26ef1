package io.sanswitch.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The provider's descriptor of a socket: what {@code socket} and {@code accept} return and
 * every socket call takes (docs/rules.md SK-handle). Opaque and unforgeable: only the provider creates them and
 * it recognises only its own instances, so a made-up or foreign handle is {@code WSAENOTSOCK}.
 *
 * <p>A handle carries the {@linkplain #generation() generation} of the startup that made it
 * (docs/rules.md LC-stale): after a final cleanup and a new startup, an old handle is {@code WSAENOTSOCK},
 * never a new socket. A closed handle is never reused.
 */
@ProviderType
public interface SocketHandle {
    /** The startup generation this handle belongs to (1 for the first startup). */
    long generation();
}
