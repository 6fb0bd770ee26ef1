package io.sanswitch.core;

import java.util.List;
import java.util.function.Supplier;

/**
 * What an engine shows of itself to diagnostics (the shell's {@code san:*} commands, the MBeans).
 * {@link ProviderRegistry} registers each engine under this interface too, in the same registration
 * as its {@code SanServiceProvider} service (same service id, same lifetime), so diagnostics find
 * engines as services of their own kind and never cast a provider to the engine class. Core-bundle
 * private: nothing of the core is exported.
 *
 * <p>Called on the diagnostics' thread: each method only reads and never blocks on a provider call.
 */
public interface EngineDiagnostics {

    /** The backend's name ("ucx", "tcp"), as in the provider's {@code sanswitch.transport} property. */
    String transportName();

    /** State, count, sockets, pending operations and generation, for {@code san:providers}. */
    ProviderStatus status();

    /** The open sockets with their addresses and byte counts, for {@code san:sockets}. */
    List<SocketStatus> sockets();

    /** The last final cleanups of this provider, oldest first, for {@code san:cleanup-history}. */
    List<CleanupRecord> cleanupHistory();

    /**
     * {@link #cleanupHistory()} as a view that references the history alone, for diagnostics that show
     * a provider's trail after its service left: the engine references its backend's transport, and
     * keeping it would keep the retired bundle revision loaded (docs/architecture.md, hot swap).
     */
    Supplier<List<CleanupRecord>> cleanupHistoryView();

    /** Bytes delivered by completed receives and RDMA reads so far, closed sockets included. */
    long bytesReceived();

    /** Bytes reported sent by completed sends and RDMA writes so far, closed sockets included. */
    long bytesSent();
}
