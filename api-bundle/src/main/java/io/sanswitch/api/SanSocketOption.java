package io.sanswitch.api;

import java.util.List;

/**
 * A socket option an application may set on a switch connection, before it connects ({@link SocketSetup}) or
 * after ({@link SwitchSocket#setOption}); the switch replays the options set before connecting on the provider
 * socket it creates (docs/rules.md SW-replay). As {@link java.net.StandardSocketOptions} are for NIO channels:
 * a fixed set of constants, typed by their value.
 *
 * <p>Which options a provider keeps is its own (docs/rules.md NS-options): the TCP provider keeps all three; the
 * UCX provider accepts {@link #TCP_NODELAY} only, so a connection set up with a buffer size goes over TCP
 * ({@link ProviderChoice.Reason#SETUP_REFUSED}).
 *
 * @param <T> the value's type
 */
public final class SanSocketOption<T> {
    /** Sends small segments at once (no Nagle delay). */
    public static final SanSocketOption<Boolean> TCP_NODELAY = new SanSocketOption<>("TCP_NODELAY", Boolean.class);
    /** The provider's send buffer in bytes, at least 1; the provider may round it (the kernel's TCP doubles it). */
    public static final SanSocketOption<Integer> SO_SNDBUF = new SanSocketOption<>("SO_SNDBUF", Integer.class);
    /** The provider's receive buffer in bytes, at least 1; the provider may round it. */
    public static final SanSocketOption<Integer> SO_RCVBUF = new SanSocketOption<>("SO_RCVBUF", Integer.class);

    /** Every option there is, in the order above. */
    public static final List<SanSocketOption<?>> ALL = List.of(TCP_NODELAY, SO_SNDBUF, SO_RCVBUF);

    private final String name;
    private final Class<T> type;

    private SanSocketOption(String name, Class<T> type) {
        this.name = name;
        this.type = type;
    }

    public String name() {
        return name;
    }

    public Class<T> type() {
        return type;
    }

    /**
     * The value checked for this option: everything an application passes is checked before a provider sees it.
     *
     * @throws IllegalArgumentException naming the option and the value: {@code null}, a value of another type
     *     (through a raw or unchecked call), or a buffer size below 1
     */
    public T check(Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": no value (null)");
        }
        if (!type.isInstance(value)) {
            throw new IllegalArgumentException(name + " takes a " + type.getSimpleName() + ", not "
                    + value.getClass().getName() + " " + value);
        }
        T v = type.cast(value);
        if (v instanceof Integer size && size < 1) {
            throw new IllegalArgumentException(name + " must be at least 1 byte: " + size);
        }
        return v;
    }

    @Override
    public String toString() {
        return name;
    }
}
