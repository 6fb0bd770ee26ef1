package io.sanswitch.spi;

/**
 * The FD_* network-event bits (docs/rules.md EV-accept). On the SAN path the switch only ever selects
 * {@link #FD_ACCEPT} (listening sockets) and {@link #FD_CONNECT} (connecting sockets); the other
 * bits are accepted by {@code eventSelect} but never recorded (docs/rules.md Q15).
 */
public final class NetworkEvents {
    private NetworkEvents() {
    }

    public static final int FD_READ_BIT = 0;
    public static final int FD_WRITE_BIT = 1;
    public static final int FD_OOB_BIT = 2;
    public static final int FD_ACCEPT_BIT = 3;
    public static final int FD_CONNECT_BIT = 4;
    public static final int FD_CLOSE_BIT = 5;
    public static final int FD_QOS_BIT = 6;
    public static final int FD_GROUP_QOS_BIT = 7;
    public static final int FD_ROUTING_INTERFACE_CHANGE_BIT = 8;
    public static final int FD_ADDRESS_LIST_CHANGE_BIT = 9;

    public static final int FD_READ = 1 << FD_READ_BIT;
    public static final int FD_WRITE = 1 << FD_WRITE_BIT;
    public static final int FD_OOB = 1 << FD_OOB_BIT;
    /** A connection request waits on a listening socket; re-armed by accept. */
    public static final int FD_ACCEPT = 1 << FD_ACCEPT_BIT;
    /** A nonblocking connect ended (one-shot), with its result in the per-event error. */
    public static final int FD_CONNECT = 1 << FD_CONNECT_BIT;
    public static final int FD_CLOSE = 1 << FD_CLOSE_BIT;
    public static final int FD_QOS = 1 << FD_QOS_BIT;
    public static final int FD_GROUP_QOS = 1 << FD_GROUP_QOS_BIT;
    public static final int FD_ROUTING_INTERFACE_CHANGE = 1 << FD_ROUTING_INTERFACE_CHANGE_BIT;
    public static final int FD_ADDRESS_LIST_CHANGE = 1 << FD_ADDRESS_LIST_CHANGE_BIT;

    public static final int FD_MAX_EVENTS = 10;
    public static final int FD_ALL_EVENTS = (1 << FD_MAX_EVENTS) - 1;

    /** The bits a SAN provider records (docs/rules.md EV-select). */
    public static final int SAN_RECORDED_EVENTS = FD_ACCEPT | FD_CONNECT;
}
