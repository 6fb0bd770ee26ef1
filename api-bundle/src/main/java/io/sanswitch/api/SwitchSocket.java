package io.sanswitch.api;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One connection made or accepted by the switch: a byte stream over one provider, whichever it is.
 *
 * <p><b>Asynchronous I/O.</b> {@link #send} and {@link #receive} return at once; their stages
 * complete in call order per direction. A failed stage carries a {@link io.sanswitch.spi.WsaException}: operations pending when
 * the provider under the connection is cleaned up (its bundle stops) or the socket is aborted fail
 * with {@code WSA_OPERATION_ABORTED}; once the connection is broken every later operation fails with
 * {@code WSAECONNRESET}; after {@link #close} or {@link #abort} with {@code WSAENOTSOCK}. The buffer
 * passed must not be touched until its stage completes.
 *
 * <p><b>Threads.</b> For speed a stage may complete on whatever thread is at hand: a switch thread,
 * the calling thread (already before {@code send} or {@code receive} returns, e.g. when received bytes
 * are waiting), or a provider's I/O thread (its UCX progress thread, its NIO selector thread). Its
 * non-async continuations ({@code thenApply}, {@code thenCompose}, {@code whenComplete}, ...) run on
 * that thread, as a Netty listener runs on the event loop: they must not block (no {@code get()},
 * {@code join()}, blocking stream, lock wait or sleep) and should be short, or that provider's
 * transport stalls for every connection on it. A continuation that blocks belongs on an executor of
 * the application's own ({@code thenApplyAsync(f, executor)}, ...). Calling {@code send} or
 * {@code receive} from a continuation is fine.
 *
 * <p><b>Blocking views.</b> {@link #inputStream()} and {@link #outputStream()} block the calling
 * thread on the same operations; their {@code IOException}s carry the {@code WsaException} as cause.
 *
 * <p>{@code @ProviderType}: implemented by the switch.
 */
@ProviderType
public interface SwitchSocket extends AutoCloseable {

    /**
     * Sends all of {@code data}'s remaining bytes.
     *
     * @return the number of bytes sent, once the provider finished with them
     */
    CompletionStage<Integer> send(ByteBuffer data);

    /**
     * Receives into {@code into}'s remaining space: at least one byte, or the end of the stream.
     *
     * @return the number of bytes received, or <b>-1 at the end of the stream</b> (the peer closed
     *     gracefully); never 0 unless {@code into} has no space
     */
    CompletionStage<Integer> receive(ByteBuffer into);

    /** A blocking input stream over {@link #receive}; {@code read} returns -1 at the end of the stream. */
    InputStream inputStream();

    /** A blocking output stream over {@link #send}; {@code write} returns when the bytes were sent. */
    OutputStream outputStream();

    /**
     * Graceful close (docs/rules.md BG-close: the switch's job): sends still queued are finished first (bounded
     * wait), then the provider socket is closed, so the peer reads the end of the stream after the
     * last byte. Receives still pending complete with {@code WSA_OPERATION_ABORTED}. Idempotent.
     */
    @Override
    void close();

    /** Abortive close: the peer sees a reset; everything pending fails with {@code WSA_OPERATION_ABORTED}. */
    void abort();

    /** The transport name of the provider carrying the connection ("ucx", "tcp"). */
    String provider();

    /**
     * Which provider carries the connection now and why: the choice made when the connection was made,
     * or, once it moved (docs/migration.md section 4), {@link ProviderChoice.Reason#MOVED} with the
     * move. The last element of {@link #history()}.
     */
    ProviderChoice choice();

    /**
     * The providers the connection was on, oldest first (docs/rules.md SW-migrate-visible): the choice
     * made when it was connected or accepted, then one {@link ProviderChoice.Reason#MOVED} choice per
     * move, the last 16 moves of a connection that moved more often (bounded: a connection open across
     * many hot swaps would otherwise grow it without end; {@link #movesLeftOut()} counts the moves
     * between the first choice and the first move listed). Never empty; an immutable snapshot, any thread.
     *
     * @since 1.2
     */
    default List<ProviderChoice> history() {
        return List.of(choice());
    }

    /**
     * The moves no longer listed in {@link #history()}: between its first choice and its first move
     * listed. Every move so far is {@code history().size() - 1 + movesLeftOut()}.
     *
     * @since 1.4
     */
    default long movesLeftOut() {
        return 0;
    }

    InetSocketAddress localAddress();

    InetSocketAddress remoteAddress();

    /** {@code true} until closed, aborted or broken. */
    boolean isOpen();

    /**
     * Sets {@code option} on the provider socket carrying the connection (options set before connecting belong
     * in a {@link SocketSetup}).
     *
     * @throws IllegalArgumentException a value {@link SanSocketOption#check} refuses, naming it
     * @throws io.sanswitch.spi.WsaException {@code WSAENOPROTOOPT} when the provider does not keep the option;
     *     {@code WSAENOTSOCK} after close; the other codes of the SPI's {@code setSockOpt}
     * @since 1.1
     */
    <T> void setOption(SanSocketOption<T> option, T value) throws io.sanswitch.spi.WsaException;

    /**
     * The option's value as the provider socket carrying the connection answers it (a buffer size as the
     * provider rounded it).
     *
     * @throws io.sanswitch.spi.WsaException as {@link #setOption}
     * @since 1.1
     */
    <T> T getOption(SanSocketOption<T> option) throws io.sanswitch.spi.WsaException;
}
