package io.sanswitch.spi;

import java.util.Arrays;

/**
 * What {@code enumNetworkEvents} reports: the Java form of {@code WSANETWORKEVENTS}, an
 * immutable copy of the events recorded since the last call, with one status per event bit
 * (docs/rules.md BG-events). A {@code null} status means the event succeeded.
 */
public final class NetworkEventRecord {
    /** The record with no event. */
    public static final NetworkEventRecord NONE = new NetworkEventRecord(0, new WsaError[NetworkEvents.FD_MAX_EVENTS]);

    private final int networkEvents;
    private final WsaError[] errors;

    private NetworkEventRecord(int networkEvents, WsaError[] errors) {
        this.networkEvents = networkEvents;
        this.errors = errors;
    }

    /**
     * A record of the given events and their statuses.
     *
     * @param networkEvents OR of FD_* bits
     * @param errorsByBit status per bit number ({@code null} for success), length at most
     *     {@link NetworkEvents#FD_MAX_EVENTS}
     */
    public static NetworkEventRecord of(int networkEvents, WsaError[] errorsByBit) {
        if ((networkEvents & ~NetworkEvents.FD_ALL_EVENTS) != 0) {
            throw new IllegalArgumentException("not FD_* bits: 0x" + Integer.toHexString(networkEvents));
        }
        if (errorsByBit.length > NetworkEvents.FD_MAX_EVENTS) {
            throw new IllegalArgumentException("at most " + NetworkEvents.FD_MAX_EVENTS + " event statuses");
        }
        return new NetworkEventRecord(networkEvents, Arrays.copyOf(errorsByBit, NetworkEvents.FD_MAX_EVENTS));
    }

    /** OR of the FD_* bits recorded. */
    public int networkEvents() {
        return networkEvents;
    }

    public boolean has(int fdMask) {
        return (networkEvents & fdMask) != 0;
    }

    /**
     * The status of the event with this bit number ({@code iErrorCode[bit]}): {@code null} when
     * the event succeeded or was not recorded.
     */
    public WsaError errorFor(int bit) {
        if (bit < 0 || bit >= NetworkEvents.FD_MAX_EVENTS) {
            throw new IllegalArgumentException("event bit out of range: " + bit);
        }
        return errors[bit];
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("NetworkEventRecord[0x").append(Integer.toHexString(networkEvents));
        for (int bit = 0; bit < NetworkEvents.FD_MAX_EVENTS; bit++) {
            if (errors[bit] != null) {
                sb.append(", bit ").append(bit).append('=').append(errors[bit]);
            }
        }
        return sb.append(']').toString();
    }
}
