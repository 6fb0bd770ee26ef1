package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.function.BiConsumer;

/**
 * Checks a peer's packed UCP worker address before it reaches {@code ucp_ep_create}: UCX trusts
 * the bytes and asserts (aborting the JVM) or reads past the end on a malformed one.
 *
 * <p>The format is UCX 1.13's (read from openucx/ucx tag {@code v1.13.1}:
 * {@code src/ucp/wireup/address.c} {@code ucp_address_unpack} and {@code ucp_address_do_pack},
 * {@code address.h}, {@code ucp_worker.inl} {@code ucp_worker_default_address_pack_flags}, and for
 * the per-transport addresses {@code src/uct/tcp/tcp_iface.c}, {@code src/uct/sm/...}), only as
 * {@code ucp_worker_get_address} packs it there with the defaults: address version v1
 * ({@code UCX_ADDRESS_VERSION=v1}), non-unified mode, no endpoint addresses. It walks every field
 * the unpacker walks, with bounds, and rejects whatever 1.13 never packs into a worker address,
 * so only addresses of that exact shape pass:
 *
 * <pre>
 * header(1: version 0 in the low nibble, flags DEBUG_INFO|WORKER_UUID in the high one)
 * uuid(8) [name_len(1) name] { device }+ | 0xFF (no device)
 * device: md(1: EMPTY|ALLOC|REG|md_index:5) dev_len(1: LAST|NUM_PATHS|SYS_DEVICE|len:5)
 *         [num_paths(1)] [sys_dev(1)] dev_addr(len) { iface }+
 * iface:  tl_name_csum(2) attr(16: float overhead, bandwidth, lat_ovh; u32 prio_cap_flags)
 *         iface_len(1: LAST|HAS_EP_ADDR|len:6) iface_addr(len)
 * </pre>
 *
 * Multi-byte fields are little-endian (the packer copies host integers; x86-64 and arm64 hosts).
 * For the transports Debian's libucx 1.13 carries without special hardware (self, tcp, sysv,
 * posix, cma) the device and interface addresses are checked against what that transport packs,
 * since UCT reads them at its own fixed sizes; the addresses of other transports (InfiniBand)
 * are only bounded.
 *
 * <p>At run time the loaded libucp must be 1.13 (and UCX's unified mode off): otherwise every
 * address is refused rather than judged by a format that may have changed.
 */
final class WorkerAddressFormat {
    /**
     * No well-formed v1 worker address is longer: 1 + 8 + 32 (name) + 64 devices of at most
     * 35 bytes + 128 interfaces of at most 82 bytes is below 13 KiB; real ones are a few hundred bytes.
     */
    static final int MAX_BYTES = 16 * 1024;
    /** The release whose format this class knows (major, minor). */
    static final int KNOWN_MAJOR = 1;
    static final int KNOWN_MINOR = 13;

    // UCP_MAX_RESOURCES: the unpacker's limit of interface entries.
    private static final int MAX_INTERFACES = 128;
    // select.c keeps the remote devices in a 64-bit map (remote_dev_bitmap), indexed by device.
    private static final int MAX_DEVICES = 64;
    // UCP_WORKER_ADDRESS_NAME_MAX (32) including its terminating NUL.
    private static final int MAX_NAME = 31;

    private static final int VERSION_V1 = 0;          // UCP_OBJECT_VERSION_V1, what 1.13 packs by default
    private static final int HEADER_DEBUG_INFO = 1;   // UCP_ADDRESS_HEADER_FLAG_DEBUG_INFO
    private static final int HEADER_WORKER_UUID = 2;
    private static final int HEADER_CLIENT_ID = 4;
    private static final int HEADER_AM_ONLY = 8;
    private static final int NULL_RESOURCE = 0xFF;    // UCP_NULL_RESOURCE: an empty address list
    private static final int MD_EMPTY_DEV = 0x80;
    private static final int MD_INDEX_MASK = 0x1F;     // UCP_ADDRESS_FLAG_MD_MASK_V1
    private static final int FLAG_LAST = 0x80;
    private static final int DEVICE_NUM_PATHS = 0x40;
    private static final int DEVICE_SYS_DEVICE = 0x20;
    private static final int DEVICE_LEN_MASK = 0x1F;
    private static final int IFACE_HAS_EP_ADDR = 0x40;
    private static final int IFACE_LEN_MASK = 0x3F;
    private static final int SYS_DEVICE_UNKNOWN = 0xFF;
    private static final int IFACE_ATTR_BYTES = 16;   // ucp_address_packed_iface_attr_t
    // prio_cap_flags: 8 bits priority, 13 capability flags, 1 event flag, 2 atomic flags at 30, 31.
    private static final int ATTR_UNUSED_BITS = 0x3FC0_0000;

    private static final Map<Integer, Transport> TRANSPORTS = Map.of(
            crc16("self"), Transport.SELF, crc16("tcp"), Transport.TCP, crc16("sysv"), Transport.SYSV,
            crc16("posix"), Transport.POSIX, crc16("cma"), Transport.CMA);

    /** A worker address UCX 1.13 would mis-read, or one it never packs; says what and where. */
    static final class MalformedAddress extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        MalformedAddress(String message) {
            super(message);
        }
    }

    private WorkerAddressFormat() {
    }

    /**
     * Checks {@code address} against the format of the loaded UCX.
     *
     * @return the transport of each interface entry, in order ({@code unknown(0x...)} for a
     *         transport checked only for bounds)
     * @throws MalformedAddress naming the field and offset that is wrong, or why no address is
     *         accepted with the loaded UCX
     */
    static List<String> check(byte[] address) {
        return check(address, LoadedUcx.VERSION, LoadedUcx.UNIFIED_MODE);
    }

    /** {@link #check(byte[])} as if {@code ucxVersion} ("major.minor.release") were loaded. */
    static List<String> check(byte[] address, String ucxVersion, boolean unifiedMode) {
        String[] parts = ucxVersion.split("\\.");
        if (parts.length < 2 || !parts[0].equals(String.valueOf(KNOWN_MAJOR)) || !parts[1].equals(String.valueOf(KNOWN_MINOR))) {
            throw new MalformedAddress("no UCX worker address is accepted: their format was checked against UCX "
                    + KNOWN_MAJOR + "." + KNOWN_MINOR + ", the loaded libucp is " + ucxVersion);
        }
        if (unifiedMode) {
            throw new MalformedAddress("no UCX worker address is accepted: UCX_UNIFIED_MODE changes their format");
        }
        return new Walk(address, null).addresses();
    }

    /**
     * The length bytes of a valid {@code address}: offset to the mask of its length bits (the
     * rest are flags), in address order. For tests that lie about them.
     */
    static Map<Integer, Integer> lengthFields(byte[] address) {
        Map<Integer, Integer> fields = new LinkedHashMap<>();
        new Walk(address, fields::put).addresses();
        return fields;
    }

    /** One pass over the bytes, front to back, as {@code ucp_address_unpack} does. */
    private static final class Walk {
        private final byte[] b;
        private final BiConsumer<Integer, Integer> lengthField;
        private int pos;
        private int previousMd;

        Walk(byte[] address, BiConsumer<Integer, Integer> lengthField) {
            if (address == null) {
                throw new MalformedAddress("no worker address");
            }
            if (address.length > MAX_BYTES) {
                throw new MalformedAddress("worker address of " + address.length + " bytes, more than " + MAX_BYTES);
            }
            this.b = address;
            this.lengthField = lengthField == null ? (offset, mask) -> { } : lengthField;
        }

        List<String> addresses() {
            int header = u8("header");
            int version = header & 0x0F;
            int flags = header >>> 4;
            if (version != VERSION_V1) {
                throw bad(0, "address version " + version + " (UCX " + KNOWN_MAJOR + "." + KNOWN_MINOR
                        + " packs worker addresses as version " + VERSION_V1 + ", v1)");
            }
            if ((flags & HEADER_WORKER_UUID) == 0) {
                throw bad(0, "header flags 0x" + Integer.toHexString(flags) + " without the worker uuid");
            }
            if ((flags & (HEADER_CLIENT_ID | HEADER_AM_ONLY)) != 0) {
                throw bad(0, "header flags 0x" + Integer.toHexString(flags) + ": client id or AM-only, never in a worker address");
            }
            take(8, "worker uuid");
            if ((flags & HEADER_DEBUG_INFO) != 0) {
                lengthField.accept(pos, 0xFF);
                int nameLength = u8("worker name length");
                if (nameLength > MAX_NAME) {
                    throw bad(pos - 1, "worker name of " + nameLength + " bytes, more than " + MAX_NAME);
                }
                take(nameLength, "worker name");
            }
            List<String> transports = new ArrayList<>();
            if (peek("device") == NULL_RESOURCE) {
                pos++;
            } else {
                boolean lastDevice;
                int devices = 0;
                do {
                    if (++devices > MAX_DEVICES) {
                        throw bad(pos, "more than " + MAX_DEVICES + " devices");
                    }
                    lastDevice = device(transports);
                } while (!lastDevice);
            }
            if (pos != b.length) {
                throw bad(pos, (b.length - pos) + " bytes after the end of the address");
            }
            return transports;
        }

        /** @return whether it is the last device */
        private boolean device(List<String> transports) {
            int mdOffset = pos;
            int md = u8("memory domain");
            if ((md & MD_EMPTY_DEV) != 0) {
                throw bad(mdOffset, "device without interfaces (md byte 0x" + Integer.toHexString(md)
                        + "), never in a worker address");
            }
            // Devices are packed in resource order, and UCX numbers resources memory domain by
            // memory domain (ucp_add_tl_resources), so their md indexes never decrease.
            int mdIndex = md & MD_INDEX_MASK;
            if (mdIndex < previousMd) {
                throw bad(mdOffset, "device of memory domain " + mdIndex + " after one of " + previousMd);
            }
            previousMd = mdIndex;
            int lengthOffset = pos;
            lengthField.accept(lengthOffset, DEVICE_LEN_MASK);
            int flags = u8("device address length");
            int devLength = flags & DEVICE_LEN_MASK;
            if ((flags & DEVICE_NUM_PATHS) != 0) {
                int paths = u8("device paths");
                if (paths < 2) {
                    throw bad(pos - 1, paths + " device paths announced by flag (packed only when more than 1)");
                }
            }
            if ((flags & DEVICE_SYS_DEVICE) != 0 && u8("system device") == SYS_DEVICE_UNKNOWN) {
                throw bad(pos - 1, "system device 0xff announced by flag (packed only when known)");
            }
            int devAddress = take(devLength, "device address");
            boolean lastInterface;
            do {
                if (transports.size() >= MAX_INTERFACES) {
                    throw bad(pos, "more than " + MAX_INTERFACES + " interfaces");
                }
                lastInterface = iface(transports, devAddress, devLength);
            } while (!lastInterface);
            return (flags & FLAG_LAST) != 0;
        }

        /** @return whether it is the last interface of its device */
        private boolean iface(List<String> transports, int devAddress, int devLength) {
            int csumOffset = take(2, "transport name checksum");
            int csum = (b[csumOffset] & 0xFF) | (b[csumOffset + 1] & 0xFF) << 8;
            int attr = take(IFACE_ATTR_BYTES, "interface attributes");
            ByteBuffer a = ByteBuffer.wrap(b, attr, IFACE_ATTR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            float overhead = a.getFloat();
            float bandwidth = a.getFloat();
            float latency = a.getFloat();
            int prioCapFlags = a.getInt();
            if (!(Float.isFinite(overhead) && overhead >= 0)) {
                throw bad(attr, "interface overhead " + overhead);
            }
            // UCX refuses bandwidth <= 0 itself but takes NaN; 1.13 packs a positive one.
            if (!(Float.isFinite(bandwidth) && bandwidth > 0)) {
                throw bad(attr + 4, "interface bandwidth " + bandwidth);
            }
            if (!(Float.isFinite(latency) && latency >= 0)) {
                throw bad(attr + 8, "interface latency " + latency);
            }
            if ((prioCapFlags & ATTR_UNUSED_BITS) != 0) {
                throw bad(attr + 12, "interface flags 0x" + Integer.toHexString(prioCapFlags) + " with unused bits set");
            }
            lengthField.accept(pos, IFACE_LEN_MASK);
            int flags = u8("interface address length");
            if ((flags & IFACE_HAS_EP_ADDR) != 0) {
                throw bad(pos - 1, "endpoint addresses, never in a worker address");
            }
            int ifaceLength = flags & IFACE_LEN_MASK;
            int ifaceAddress = take(ifaceLength, "interface address");
            Transport transport = TRANSPORTS.get(csum);
            if (transport == null) {
                transports.add(String.format(Locale.ROOT, "unknown(0x%04x)", csum));
            } else {
                String wrong = transport.wrongDevice(b, devAddress, devLength);
                if (wrong != null) {
                    throw bad(devAddress, transport.label() + " device address: " + wrong);
                }
                wrong = transport.wrongInterface(b, ifaceAddress, ifaceLength);
                if (wrong != null) {
                    throw bad(ifaceAddress, transport.label() + " interface address: " + wrong);
                }
                transports.add(transport.label());
            }
            return (flags & FLAG_LAST) != 0;
        }

        private int peek(String field) {
            if (pos >= b.length) {
                throw bad(pos, "address ends before the " + field);
            }
            return b[pos] & 0xFF;
        }

        private int u8(String field) {
            int value = peek(field);
            pos++;
            return value;
        }

        /** @return the offset of the {@code length} bytes taken */
        private int take(int length, String field) {
            if (length > b.length - pos) {
                throw bad(pos, "address ends inside the " + field + " (" + length + " bytes, "
                        + (b.length - pos) + " left)");
            }
            int at = pos;
            pos += length;
            return at;
        }

        private MalformedAddress bad(int offset, String what) {
            return new MalformedAddress("malformed UCX worker address (" + b.length + " bytes) at offset " + offset + ": " + what);
        }
    }

    /** What each transport packs as its device and interface address (src/uct of v1.13.1). */
    private enum Transport {
        SELF {
            @Override
            String wrongDevice(byte[] b, int at, int length) {
                return length == 0 ? null : length + " bytes, self packs none";
            }

            @Override
            String wrongInterface(byte[] b, int at, int length) {
                return length == 8 ? null : length + " bytes, self packs 8 (uct_self_iface_addr_t)";
            }
        },
        TCP {
            // uct_tcp_device_addr_t: flags (LOOPBACK = 1), sa_family; then a namespace-qualified
            // system id (16) for loopback, else the in_addr (4) or in6_addr (16).
            @Override
            String wrongDevice(byte[] b, int at, int length) {
                if (length < 2) {
                    return length + " bytes, shorter than flags and family";
                }
                int flags = b[at] & 0xFF;
                int family = b[at + 1] & 0xFF;
                if (flags > 1) {
                    return "flags 0x" + Integer.toHexString(flags);
                }
                if (family != AF_INET && family != AF_INET6) {
                    return "address family " + family;
                }
                int expected = 2 + (flags == 0 && family == AF_INET ? 4 : 16);
                return length == expected ? null : length + " bytes, " + expected + " for flags " + flags + " family " + family;
            }

            @Override
            String wrongInterface(byte[] b, int at, int length) {
                return length == 2 ? null : length + " bytes, tcp packs its port (2)";
            }
        },
        SYSV {
            @Override
            String wrongInterface(byte[] b, int at, int length) {
                return length == 8 ? null : length + " bytes, sysv packs its fifo segment id (8)";
            }
        },
        POSIX {
            // uct_mm_iface_addr_t (fifo_seg_id) and, with UCT_POSIX_SEG_FLAG_PID_NS (bit 60), the
            // PID namespace; with neither procfs (bit 63) nor shm_open (bit 62) a directory path
            // follows instead, which only a non-default UCX_POSIX_DIR gives: not accepted.
            @Override
            String wrongInterface(byte[] b, int at, int length) {
                if (length < 8) {
                    return length + " bytes, shorter than the fifo segment id";
                }
                long segment = u64(b, at);
                if ((segment & (PROCFS | SHM_OPEN)) == 0) {
                    return "segment id 0x" + Long.toHexString(segment) + " names a file in a directory (UCX_POSIX_DIR), not accepted";
                }
                int expected = (segment & PID_NS) != 0 ? 16 : 8;
                return length == expected ? null : length + " bytes, " + expected + " for segment id 0x" + Long.toHexString(segment);
            }
        },
        CMA {
            // ucs_cma_iface_base_device_addr_t (pid_t), or with UCT_CMA_IFACE_ADDR_FLAG_PID_NS
            // (bit 31) the unpacked ucs_cma_iface_ext_device_addr_t: pid, padding, namespace (16).
            @Override
            String wrongInterface(byte[] b, int at, int length) {
                if (length < 4) {
                    return length + " bytes, shorter than a pid";
                }
                int expected = (b[at + 3] & 0x80) != 0 ? 16 : 4;
                return length == expected ? null : length + " bytes, " + expected + " for pid field 0x"
                        + Integer.toHexString(ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
            }
        };

        private static final int AF_INET = 2;
        private static final int AF_INET6 = 10;
        private static final long PROCFS = 1L << 63;
        private static final long SHM_OPEN = 1L << 62;
        private static final long PID_NS = 1L << 60;
        // UCT_IFACE_LOCAL_ADDR_FLAG_NS: the system id is followed by a namespace id.
        private static final long LOCAL_ADDR_NS = 1L << 63;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The shared-memory transports' device address: uct_iface_local_addr_{base,ns}_t. */
        String wrongDevice(byte[] b, int at, int length) {
            if (length < 8) {
                return length + " bytes, shorter than the system id";
            }
            int expected = (u64(b, at) & LOCAL_ADDR_NS) != 0 ? 16 : 8;
            return length == expected ? null : length + " bytes, " + expected + " for its namespace flag";
        }

        abstract String wrongInterface(byte[] b, int at, int length);

        private static long u64(byte[] b, int at) {
            return ByteBuffer.wrap(b, at, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
    }

    /** ucs_crc16_string: how UCX names a transport in an address. */
    static int crc16(String name) {
        int crc = 0xFFFF;
        for (byte c : name.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) {
            crc ^= c & 0xFF;
            for (int bit = 0; bit < 8; bit++) {
                crc = (crc >>> 1) ^ ((crc & 1) != 0 ? 0x8408 : 0);
            }
        }
        return ~crc & 0xFFFF;
    }

    /** The libucp this JVM loaded, asked once. */
    private static final class LoadedUcx {
        static final String VERSION = loadedVersion();
        static final boolean UNIFIED_MODE = isYes(System.getenv("UCX_UNIFIED_MODE"));

        private static String loadedVersion() {
            try {
                int v = UcxNative.ucpVersion();
                return (v >>> 16) + "." + ((v >>> 8) & 0xFF) + "." + (v & 0xFF);
            } catch (LinkageError e) {
                return "unknown (" + e + ")";
            }
        }

        private static boolean isYes(String value) {
            return value != null && switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "y", "yes", "on", "1", "true" -> true;
                default -> false;
            };
        }
    }
}
