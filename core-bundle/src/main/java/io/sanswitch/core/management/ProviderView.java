package io.sanswitch.core.management;

import io.sanswitch.core.EngineDiagnostics;

/** {@link ProviderMXBean} read live from the engine, as {@code san:providers} reads it. */
final class ProviderView implements ProviderMXBean {
    private final EngineDiagnostics engine;
    private final long serviceId;

    ProviderView(EngineDiagnostics engine, long serviceId) {
        this.engine = engine;
        this.serviceId = serviceId;
    }

    @Override
    public String getTransport() {
        return engine.transportName();
    }

    @Override
    public long getServiceId() {
        return serviceId;
    }

    @Override
    public String getState() {
        return engine.status().state();
    }

    @Override
    public int getReferenceCount() {
        return engine.status().referenceCount();
    }

    @Override
    public int getOpenSockets() {
        return engine.status().openSockets();
    }

    @Override
    public int getPendingOperations() {
        return engine.status().pendingOperations();
    }

    @Override
    public long getGeneration() {
        return engine.status().generation();
    }

    @Override
    public long getFinalCleanups() {
        return engine.status().finalCleanups();
    }

    @Override
    public long getBytesReceived() {
        return engine.bytesReceived();
    }

    @Override
    public long getBytesSent() {
        return engine.bytesSent();
    }

    @Override
    public String toString() {
        return "ProviderMXBean[" + engine.transportName() + ", service " + serviceId + "]";
    }
}
