package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;

/**
 * Live UCX workers of this process under several configurations, opened the way
 * {@link UcxTransport} opens its own, for their real packed addresses. Close when done.
 */
final class LiveWorkers implements AutoCloseable {
    /** Configurations: UCX's choice, TCP only, shared memory only, UCX's choice with the debug name. */
    static final List<String> CONFIGS = List.of("default", "tcp", "sm", "debug-info");

    private final List<UcpContext> contexts = new ArrayList<>();
    private final List<UcpWorker> workers = new ArrayList<>();
    private final Map<String, byte[]> addresses = new LinkedHashMap<>();

    LiveWorkers() {
        try {
            for (String config : CONFIGS) {
                UcpParams params = new UcpParams().requestTagFeature().requestRmaFeature();
                switch (config) {
                    case "tcp" -> params.setConfig("TLS", "tcp");
                    case "sm" -> params.setConfig("TLS", "sm").setConfig("MM_ERROR_HANDLING", "y");
                    case "debug-info" -> params.setConfig("ADDRESS_DEBUG_INFO", "y").setConfig("MM_ERROR_HANDLING", "y");
                    default -> params.setConfig("MM_ERROR_HANDLING", "y");
                }
                UcpContext context = new UcpContext(params);
                contexts.add(context);
                UcpWorker worker = context.newWorker(new UcpWorkerParams());
                workers.add(worker);
                addresses.put(config, bytes(worker.getAddress()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    static byte[] bytes(ByteBuffer address) {
        byte[] b = new byte[address.remaining()];
        address.get(b);
        return b;
    }

    /** The packed address of each configuration's worker, by configuration. */
    Map<String, byte[]> addresses() {
        return addresses;
    }

    @Override
    public void close() {
        workers.forEach(UcpWorker::close);
        contexts.forEach(UcpContext::close);
        workers.clear();
        contexts.clear();
    }
}
