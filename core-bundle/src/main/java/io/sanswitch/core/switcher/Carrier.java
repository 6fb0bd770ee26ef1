package io.sanswitch.core.switcher;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;

/**
 * The provider socket that carries a {@link Connection} now, and what the switch runs over it: the
 * wire format, the send slots and the receives it posts. The application's side of the connection
 * (its pending sends and receives, the bytes waiting for it) stays in the connection; the move of
 * docs/migration.md section 4 gives a connection a new carrier and keeps the application's
 * {@code SwitchSocket}. Built by the connection ({@link Connection#carry}); its parts are set once there.
 */
final class Carrier {
    /** The provider's name, as {@code SwitchSocket.provider()} reports it. */
    final String name;
    /** Null on a moved connection's carrier (its {@link #resumed} stream). */
    final BoundProvider provider;
    final SanServiceProvider spi;
    final SocketHandle handle;
    WireFormat wire;
    SendSlots slots;
    ReceiveRing ring;
    /** Plain stream: large direct application receives the provider fills itself. */
    DirectReceives direct;
    /** The provider's record of the socket, from the connection's start; owned by the connection's queue. */
    BoundProvider.Slot slot;
    /** A moved connection's frames over its resume socket (docs/migration.md section 4); null over a provider socket. */
    final ResumedStream resumed;

    Carrier(BoundProvider provider, SocketHandle handle) {
        this.name = provider.name;
        this.provider = provider;
        this.spi = provider.spi;
        this.handle = handle;
        this.resumed = null;
    }

    /** The carrier of a moved connection: its resume socket. */
    Carrier(ResumedStream resumed) {
        this.name = resumed.provider();
        this.provider = null;
        this.spi = null;
        this.handle = null;
        this.resumed = resumed;
    }

    /** Whether its provider was withdrawn (a resume socket's: the provider under that socket). */
    boolean retired() {
        return provider != null ? provider.isRetired() : resumed.providerRetired();
    }

    @Override
    public String toString() {
        return resumed != null ? resumed.toString() : name + " " + handle;
    }
}
