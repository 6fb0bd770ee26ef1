package io.sanswitch.api;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an application sets on a connection before it connects, as it would on an unconnected NIO channel: a
 * local address to bind to and socket options, recorded in the order set and handed to
 * {@link SocketSwitch#connect(InetSocketAddress, String, SocketSetup)}. The switch binds the provider socket it
 * creates and replays the options on it before connecting; a provider that refuses any of it sends the
 * connection to TCP, where the same bind and options are replayed (docs/rules.md SW-replay).
 *
 * <pre>{@code
 * SwitchSocket s = socketSwitch.connect(peer, null, new SocketSetup()
 *         .bind(new InetSocketAddress(localIp, 0))
 *         .setOption(SanSocketOption.TCP_NODELAY, true));
 * }</pre>
 *
 * <p>Not thread-safe; {@code connect} takes a copy, so changing a setup later changes no connection.
 */
public final class SocketSetup {

    /** One option as set: the option and its checked value. */
    public record Setting<T>(SanSocketOption<T> option, T value) {
        public Setting {
            Objects.requireNonNull(option, "option");
            value = option.check(value);
        }
    }

    private InetSocketAddress local;
    /** Insertion order is the replay order; setting an option again moves it to the end (its latest place). */
    private final Map<SanSocketOption<?>, Setting<?>> settings = new LinkedHashMap<>();

    public SocketSetup() {
    }

    /** A copy of {@code other}. */
    public SocketSetup(SocketSetup other) {
        this.local = other.local;
        this.settings.putAll(other.settings);
    }

    /**
     * Binds the connection's provider socket to {@code local} before connecting (port 0: the provider picks one).
     *
     * @throws IllegalArgumentException for {@code null} or an unresolved address (no name is looked up)
     */
    public SocketSetup bind(InetSocketAddress local) {
        if (local == null || local.isUnresolved()) {
            throw new IllegalArgumentException("bind needs a resolved local address: " + local);
        }
        this.local = local;
        return this;
    }

    /** The address to bind to, or {@code null} when the provider chooses. */
    public InetSocketAddress localAddress() {
        return local;
    }

    /**
     * Records {@code option = value}, replayed after the bind in the order set.
     *
     * @throws IllegalArgumentException from {@link SanSocketOption#check}, naming the value
     */
    public <T> SocketSetup setOption(SanSocketOption<T> option, T value) {
        Objects.requireNonNull(option, "option");
        Setting<T> s = new Setting<>(option, value);
        settings.remove(option);
        settings.put(option, s);
        return this;
    }

    /** The value recorded for {@code option}, or {@code null} when it was not set. */
    public <T> T getOption(SanSocketOption<T> option) {
        Setting<?> s = settings.get(Objects.requireNonNull(option, "option"));
        return s == null ? null : option.type().cast(s.value());
    }

    /** The options set, in replay order. */
    public List<Setting<?>> settings() {
        return List.copyOf(new ArrayList<>(settings.values()));
    }

    @Override
    public String toString() {
        return "SocketSetup[bind " + local + ", " + settings.values() + "]";
    }
}
