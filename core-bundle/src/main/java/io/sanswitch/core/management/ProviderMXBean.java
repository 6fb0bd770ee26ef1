package io.sanswitch.core.management;

/**
 * One SAN service provider, {@code io.sanswitch:type=Provider,name=<backend>}: the figures of
 * {@code san:providers}, plus the bytes it moved.
 */
public interface ProviderMXBean {

    /** The backend's name ("ucx", "tcp"), the provider's {@code sanswitch.transport}. */
    String getTransport();

    /** The provider's OSGi service id. */
    long getServiceId();

    /** IDLE, STARTING, RUNNING or CLEANING_UP. */
    String getState();

    /** Outstanding startups (1 = the switch's). */
    int getReferenceCount();

    int getOpenSockets();

    /** Posted overlapped operations not yet completed. */
    int getPendingOperations();

    /** The current (or last) run's startup generation; 0 before the first startup. */
    long getGeneration();

    /** Final cleanups this provider has run. */
    long getFinalCleanups();

    /** Bytes delivered by completed receives and RDMA reads, over all sockets so far. */
    long getBytesReceived();

    /** Bytes sent by completed sends and RDMA writes, over all sockets so far. */
    long getBytesSent();
}
