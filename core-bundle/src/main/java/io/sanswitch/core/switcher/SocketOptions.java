package io.sanswitch.core.switcher;

import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SocketSetup;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaException;

/**
 * The application's socket options in the SPI's words: each {@link SanSocketOption} is one {@code setSockOpt}
 * level and name with an int value (docs/rules.md NS-options: which of them a provider keeps is the provider's).
 */
final class SocketOptions {
    private SocketOptions() {
    }

    private record Spi(int level, int name) {
    }

    private static Spi spi(SanSocketOption<?> option) {
        if (option == SanSocketOption.TCP_NODELAY) {
            return new Spi(Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY);
        }
        if (option == SanSocketOption.SO_SNDBUF) {
            return new Spi(Winsock.SOL_SOCKET, Winsock.SO_SNDBUF);
        }
        if (option == SanSocketOption.SO_RCVBUF) {
            return new Spi(Winsock.SOL_SOCKET, Winsock.SO_RCVBUF);
        }
        // The options are the api's constants; one this switch does not know is a newer api's.
        throw new IllegalArgumentException("option " + option + " is not known to this switch");
    }

    /** Checks {@code value} (the application's, hostile until checked) and sets it on the provider socket. */
    static <T> void set(SanServiceProvider p, SocketHandle h, SanSocketOption<T> option, T value) throws WsaException {
        Spi o = spi(option);
        T v = option.check(value);
        int raw = v instanceof Boolean b ? (b ? 1 : 0) : (Integer) v;
        p.setSockOpt(h, o.level, o.name, raw);
    }

    /** The provider socket's answer, as the option's type. */
    static <T> T get(SanServiceProvider p, SocketHandle h, SanSocketOption<T> option) throws WsaException {
        Spi o = spi(option);
        int raw = p.getSockOpt(h, o.level, o.name);
        Object v = option.type() == Boolean.class ? (Object) (raw != 0) : (Object) raw;
        return option.type().cast(v);
    }

    /**
     * docs/rules.md SW-replay: binds the new provider socket where the application bound, then sets its options
     * in the order it set them. A refusal names the step, so the application sees which of its settings failed.
     */
    static void replay(SanServiceProvider p, SocketHandle h, SocketSetup setup, String provider) throws WsaException {
        if (setup.localAddress() != null) {
            try {
                p.bind(h, setup.localAddress());
            } catch (WsaException e) {
                throw new WsaException(e.error(), "bind to " + setup.localAddress() + " on " + provider + ": "
                        + e.getMessage(), e);
            }
        }
        for (SocketSetup.Setting<?> s : setup.settings()) {
            try {
                replayOne(p, h, s);
            } catch (WsaException e) {
                throw new WsaException(e.error(), s.option() + " = " + s.value() + " on " + provider + ": "
                        + e.getMessage(), e);
            }
        }
    }

    private static <T> void replayOne(SanServiceProvider p, SocketHandle h, SocketSetup.Setting<T> s) throws WsaException {
        set(p, h, s.option(), s.value());
    }
}
