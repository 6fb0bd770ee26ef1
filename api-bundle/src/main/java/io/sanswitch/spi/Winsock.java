package io.sanswitch.spi;

/**
 * Numeric constants of the SAN SPI (docs/rules.md BG-constants and BG-options), named as in the Winsock headers.
 */
public final class Winsock {
    private Winsock() {
    }

    public static final int AF_INET = 2;
    /** Winsock's value for IPv6 (23), not Linux's. */
    public static final int AF_INET6 = 23;
    public static final int SOCK_STREAM = 1;
    public static final int IPPROTO_TCP = 6;
    /** As a backlog: "choose a sensible maximum". */
    public static final int SOMAXCONN = 0x7FFFFFFF;

    public static final int SOL_SOCKET = 0xFFFF;
    public static final int SO_DEBUG = 0x0001;
    public static final int SO_LINGER = 0x0080;
    /** Send buffer size in bytes (an application's option the switch replays, docs/rules.md SW-replay). */
    public static final int SO_SNDBUF = 0x1001;
    /** Receive buffer size in bytes. */
    public static final int SO_RCVBUF = 0x1002;
    public static final int SO_GROUP_ID = 0x2001;
    public static final int SO_GROUP_PRIORITY = 0x2002;
    public static final int SO_MAX_MSG_SIZE = 0x2003;
    /** Largest transfer of one rdmaWrite/rdmaRead (docs/rules.md RD-options, ERR-rdma-size). */
    public static final int SO_MAX_RDMA_SIZE = 0x700D;
    /** The provider's preferred minimum size for RDMA (docs/rules.md RD-options, SW-threshold). */
    public static final int SO_RDMA_THRESHOLD_SIZE = 0x700E;
    /** At level {@link #IPPROTO_TCP}. */
    public static final int TCP_NODELAY = 0x0001;

    public static final int MEM_READ = 1;
    public static final int MEM_WRITE = 2;
    public static final int MEM_READWRITE = 3;

    public static final int SIO_GET_EXTENSION_FUNCTION_POINTER = 0xC8000006;
    public static final int SIO_ADDRESS_LIST_QUERY = 0x48000016;

    /** {@code Internal} of an overlapped that is still running. */
    public static final int WSS_OPERATION_IN_PROGRESS = 0x00000103;
}
