package io.sanswitch.api;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

import io.sanswitch.spi.WsaException;

/**
 * A listener of the switch: accepts connections from every provider listening on its address
 * (docs/rules.md AC-condition), in arrival order. Connections accepted by the providers wait here, up to the backlog;
 * requests beyond it are refused by the condition function ({@code CF_REJECT}).
 *
 * <p>{@code @ProviderType}: implemented by the switch.
 */
@ProviderType
public interface SwitchServerSocket extends AutoCloseable {

    /**
     * Waits for the next connection.
     *
     * @throws WsaException {@code WSAENOTSOCK} once closed, {@code WSAEINTR} when interrupted
     */
    SwitchSocket accept() throws WsaException;

    /** The next connection; fails with {@code WSAENOTSOCK} when the listener is closed first. */
    CompletionStage<SwitchSocket> acceptAsync();

    /** Stops listening on every provider; connections waiting here are aborted. Idempotent. */
    @Override
    void close();

    /** The address the TCP provider listens on (with the chosen port). */
    InetSocketAddress localAddress();

    /** The providers listening for this listener right now, by transport name. */
    List<String> providers();
}
