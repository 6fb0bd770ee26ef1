package io.sanswitch.tcp;

import java.util.Map;
import java.util.function.Consumer;

import io.sanswitch.config.ConfigReader;

/** The settings of PID {@value NioTransport#PID}, every value checked. */
record TcpSettings(int threads, NioSocket.Settings sockets, int networkCheckMillis) {

    // Defaults and bounds; NioTransport.Config (the Metatype) shows the same.
    static final int THREADS = 2;
    static final int MAX_THREADS = 256;
    static final int MAX_BUFFER_BYTES = 64 << 20;
    static final int NETWORK_CHECK_MILLIS = 200;
    static final int MIN_NETWORK_CHECK_MILLIS = 10;
    static final int MAX_NETWORK_CHECK_MILLIS = 60_000;

    static final TcpSettings DEFAULTS = new TcpSettings(THREADS, new NioSocket.Settings(true, 0, 0),
            NETWORK_CHECK_MILLIS);

    /**
     * Reads the configuration. Absent properties take their defaults; a bad value is one line for
     * {@code complaints} and the default is used (the component has no modified method: each
     * change activates a new one). Never throws.
     */
    static TcpSettings read(Map<String, ?> properties, Consumer<String> complaints) {
        ConfigReader r = new ConfigReader(NioTransport.PID, properties, complaints);
        NioSocket.Settings d = DEFAULTS.sockets;
        return new TcpSettings(
                r.integer("threads", 1, MAX_THREADS, THREADS, THREADS),
                new NioSocket.Settings(r.bool("tcpNoDelay", d.tcpNoDelay(), d.tcpNoDelay()),
                        r.integer("receiveBufferBytes", 0, MAX_BUFFER_BYTES, 0, 0),
                        r.integer("sendBufferBytes", 0, MAX_BUFFER_BYTES, 0, 0)),
                r.integer("networkCheckMillis", MIN_NETWORK_CHECK_MILLIS, MAX_NETWORK_CHECK_MILLIS,
                        NETWORK_CHECK_MILLIS, NETWORK_CHECK_MILLIS));
    }
}
