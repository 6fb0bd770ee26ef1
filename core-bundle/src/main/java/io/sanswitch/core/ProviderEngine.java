package io.sanswitch.core;

import static io.sanswitch.spi.WsaError.*;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConditionFunction;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.ProviderData;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.SpiCall;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.ConnectionRequest;
import io.sanswitch.transport.PostedOperation.Kind;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.transport.TransportRegion;
import io.sanswitch.transport.TransportSocket;

/**
 * The SAN service provider over one {@link Transport}: every rule of docs/architecture.md, lifecycle lives here and in
 * the parts it is made of, and no backend has to know any of them.
 *
 * <ul>
 * <li>{@link Lifecycle}: reference count and state, by compare-and-set (rules 1, 2).</li>
 * <li>{@link CleanupSequence}: the final cleanup a–f, in one readable method (rule 3).</li>
 * <li>{@link InFlight} around every call, plus per socket: a call racing a close or the final
 *     cleanup is refused or drained, never lost (rule 4).</li>
 * <li>{@link HandleTable}: generation-stamped, never-reused descriptors (rule 4).</li>
 * <li>{@link PendingOperation}: one CAS decides who completes an operation (rule 3 b).</li>
 * <li>{@link NotificationGate}: no FD_* event during the final cleanup (rule 3 a).</li>
 * <li>No lock is held across an upcall or a backend call, and waits discount the caller's own
 *     thread, so cleanup works from inside an upcall (rule 5).</li>
 * </ul>
 *
 * Every failure is held to its call's list by {@link ErrorPolicy}.
 */
public final class ProviderEngine implements SanServiceProvider, EngineDiagnostics {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderEngine.class);

    private final Transport transport;
    private final TransportCapabilities capabilities;
    private final EngineConfig config;
    private final String name;
    private final Lifecycle lifecycle;
    private final InFlight calls;
    private final NotificationGate gate = new NotificationGate();
    private final HandleTable handles = new HandleTable();
    private final TransferTotals totals = new TransferTotals();
    private final Upcalls upcalls = new Upcalls();
    private final AtomicBoolean networkDown = new AtomicBoolean();
    /** Set once the backend is going away: a final cleanup from then on is TRANSPORT_LEAVING. */
    private volatile boolean leaving;
    private final EngineEvents events;
    private final SocketTeardown teardown;
    private final CleanupSequence cleanupSequence;
    private final LateCompletions lateCompletions;

    public ProviderEngine(Transport transport, EngineConfig config) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.capabilities = Objects.requireNonNull(transport.capabilities(), "transport capabilities");
        this.config = Objects.requireNonNull(config, "config");
        this.name = "provider[" + transport.name() + "]";
        this.lifecycle = new Lifecycle(name);
        this.calls = new InFlight(name + " calls");
        Completions completions = new Completions(upcalls);
        this.events = new EngineEvents(handles, gate, completions, upcalls, networkDown);
        this.teardown = new SocketTeardown(transport, handles, completions, upcalls);
        this.cleanupSequence = new CleanupSequence(name, transport, gate, calls, handles, teardown, config.drainTimeout());
        this.lateCompletions = new LateCompletions(name, completions);
    }

    public ProviderEngine(Transport transport) {
        this(transport, EngineConfig.defaults(transport.name()));
    }

    // ------------------------------------------------------------------ lifecycle (docs/rules.md LC-count … LC-f)

    @Override
    public ProviderData startupEx(WinsockVersion requested, ProtocolInfo protocolInfo, UpcallTable upcallTable)
            throws WsaException {
        try {
            if (requested == null || protocolInfo == null || upcallTable == null) {
                throw new WsaException(WSAEFAULT, "startupEx needs a version, the protocol info and an upcall table");
            }
            if (requested.isBelow(SUPPORTED_VERSION)) {
                throw new WsaException(WSAVERNOTSUPPORTED, "version " + requested + " requested; the SAN extensions need "
                        + SUPPORTED_VERSION);
            }
            lifecycle.startup(config.maxStartups(), config.drainTimeout(), generation -> {
                upcalls.use(upcallTable);
                networkDown.set(false);
                transport.open(events);
                gate.open();
                LOG.info("{}: started, generation {}", name, generation);
            });
            upcalls.use(upcallTable); // docs/rules.md Q11: the most recent table
            // docs/rules.md Q10: a request at or above 2.2 is answered 2.2 / 2.2.
            return new ProviderData(SUPPORTED_VERSION, SUPPORTED_VERSION, config.description());
        } catch (WsaException e) {
            throw ErrorPolicy.hold(SpiCall.STARTUP_EX, e);
        } catch (RuntimeException e) {
            throw ErrorPolicy.unexpected(SpiCall.STARTUP_EX, e);
        }
    }

    /**
     * The backend is about to go away (its service is being unregistered): a final cleanup from here
     * on, also one that a holder's {@link #cleanup()} triggers by taking the count to zero (the
     * switch releasing its startup as the provider is withdrawn), is recorded as
     * {@link CleanupReason#TRANSPORT_LEAVING}: that is why it ran.
     */
    public void markLeaving() {
        leaving = true;
    }

    @Override
    public void cleanup() throws WsaException {
        try {
            Lifecycle.CleanupOutcome outcome = lifecycle.cleanup(generation -> cleanupSequence.run(
                    leaving ? CleanupReason.TRANSPORT_LEAVING : CleanupReason.COUNT_REACHED_ZERO, generation,
                    networkDown.get()));
            LOG.debug("{}: cleanup {}", name, outcome);
        } catch (WsaException e) {
            throw ErrorPolicy.hold(SpiCall.CLEANUP, e);
        } catch (RuntimeException e) {
            throw ErrorPolicy.unexpected(SpiCall.CLEANUP, e);
        }
    }

    /**
     * The final cleanup whatever the reference count: what a stopping backend bundle triggers
     * (docs/architecture.md, lifecycle, bundle stop = final cleanup). Outstanding references become stale
     * ({@code WSANOTINITIALISED}).
     *
     * @return {@code false} if the provider was not running
     * @throws WsaException {@code WSAENETDOWN} after everything was released, as for
     *     {@link #cleanup()}
     */
    public boolean finalCleanup(CleanupReason reason) throws WsaException {
        return lifecycle.forceFinal(generation -> cleanupSequence.run(reason, generation, networkDown.get()));
    }

    // ------------------------------------------------------------------ sockets

    @Override
    public SocketHandle socket(int addressFamily, int type, int protocol, ProtocolInfo protocolInfo, int flags)
            throws WsaException {
        return call(SpiCall.SOCKET, c -> {
            if (addressFamily != Winsock.AF_INET && addressFamily != Winsock.AF_INET6) {
                throw new WsaException(WSAEAFNOSUPPORT, "address family " + addressFamily);
            }
            if (type != Winsock.SOCK_STREAM) {
                throw new WsaException(WSAESOCKTNOSUPPORT, "socket type " + type + "; only SOCK_STREAM");
            }
            if (protocol != Winsock.IPPROTO_TCP && protocol != 0) {
                throw new WsaException(WSAEPROTONOSUPPORT, "protocol " + protocol + "; only IPPROTO_TCP");
            }
            if (protocolInfo != null && protocolInfo.providerReserved() != 0) {
                throw new WsaException(WSAEINVAL, "re-creating a duplicated socket is not supported");
            }
            return open(c.generation, transport.newSocket(addressFamily), EngineSocket.Role.UNBOUND).handle();
        });
    }

    /** Adds a backend socket to the table and obtains the switch's handle for it (docs/rules.md SK-handle). */
    private EngineSocket open(long generation, TransportSocket ts, EngineSocket.Role role) throws WsaException {
        EngineSocket s = new EngineSocket(handles.newHandle(generation), ts, role, totals);
        handles.add(s);
        try {
            s.switchHandle(upcalls.createSocketHandle(s.handle()));
            return s;
        } catch (WsaException | RuntimeException e) {
            handles.remove(s);
            s.beginClose();
            ts.reset();
            s.markClosed();
            if (e instanceof WsaException w) {
                throw w;
            }
            throw new WsaException(WSAENOBUFS, "the switch could not create a socket handle", e);
        }
    }

    @Override
    public void bind(SocketHandle socket, InetSocketAddress local) throws WsaException {
        call(SpiCall.BIND, c -> {
            EngineSocket s = c.socket(socket);
            requireAddress(local);
            return transition(s, EngineSocket.Role.UNBOUND, EngineSocket.Role.BOUND, WSAEINVAL, () -> {
                s.transport().bind(local);
                return null;
            });
        });
    }

    @Override
    public void listen(SocketHandle socket, int backlog) throws WsaException {
        call(SpiCall.LISTEN, c -> {
            EngineSocket s = c.socket(socket);
            switch (s.role()) {
                case UNBOUND -> throw new WsaException(WSAEINVAL, s + " is not bound");
                case CONNECTING, CONNECTED -> throw new WsaException(WSAEISCONN, s + " is connected");
                case LISTENING -> {
                    return null;
                }
                case BOUND -> {
                }
            }
            return transition(s, EngineSocket.Role.BOUND, EngineSocket.Role.LISTENING, WSAEINVAL, () -> {
                s.transport().listen(backlog <= 0 ? 1 : backlog);
                return null;
            });
        });
    }

    @Override
    public AcceptedSocket accept(SocketHandle socket, ConditionFunction condition, long callbackData)
            throws WsaException {
        return call(SpiCall.ACCEPT, c -> {
            EngineSocket s = c.socket(socket);
            if (condition == null) {
                throw new WsaException(WSAEFAULT, "accept needs the switch's condition function");
            }
            if (s.role() != EngineSocket.Role.LISTENING) {
                throw new WsaException(WSAEINVAL, s + " is not listening");
            }
            ConnectionRequest request = s.transport().peekConnectionRequest();
            if (request == null) {
                throw new WsaException(WSAEWOULDBLOCK, "no connection request queued on " + s);
            }
            // docs/rules.md AC-condition: the condition function runs on this thread, before the peer learns anything.
            ConditionDecision decision;
            try {
                decision = condition.decide(request.peer(), request.callerData(), callbackData);
            } catch (RuntimeException e) {
                LOG.warn("{}: condition function threw; refusing {}", name, request.peer(), e);
                decision = ConditionDecision.CF_REJECT;
            }
            if (!s.isOpen()) {
                throw new WsaException(WSAENOTSOCK, s + " was closed by the condition function");
            }
            if (decision == ConditionDecision.CF_DEFER) {
                throw new WsaException(WSATRY_AGAIN, "the condition function deferred " + request.peer());
            }
            if (decision != ConditionDecision.CF_ACCEPT) {
                s.transport().reject(request);
                throw new WsaException(WSAECONNREFUSED, "the condition function refused " + request.peer());
            }
            EngineSocket accepted = open(c.generation, s.transport().accept(request), EngineSocket.Role.CONNECTED);
            accepted.peer(request.peer());
            // docs/rules.md AC-condition: reset the FD_ACCEPT event before a successful accept returns; a request
            // still queued re-arms it (docs/rules.md EV-accept).
            EventHandle acceptEvent = s.clearAccept();
            if (acceptEvent != null) {
                upcalls.resetEvent(acceptEvent);
                if (s.transport().peekConnectionRequest() != null) {
                    events.post(s, NetworkEvents.FD_ACCEPT_BIT, null);
                }
            }
            return new AcceptedSocket(accepted.handle(), request.peer());
        });
    }

    @Override
    public ConnectStatus connect(SocketHandle socket, InetSocketAddress remote, byte[] callerData) throws WsaException {
        return call(SpiCall.CONNECT, c -> {
            EngineSocket s = c.socket(socket);
            requireAddress(remote);
            EngineSocket.Role before = s.role();
            switch (before) {
                case LISTENING -> throw new WsaException(WSAEINVAL, s + " is listening");
                case CONNECTING -> throw new WsaException(WSAEALREADY, s + " is connecting");
                case CONNECTED -> throw new WsaException(WSAEISCONN, s + " is connected");
                case UNBOUND, BOUND -> {
                }
            }
            boolean now = transition(s, before, EngineSocket.Role.CONNECTING, WSAEALREADY,
                    () -> s.transport().connect(remote, callerData == null ? new byte[0] : callerData.clone()));
            s.peer(remote);
            if (now) {
                s.compareAndSetRole(EngineSocket.Role.CONNECTING, EngineSocket.Role.CONNECTED);
                return ConnectStatus.CONNECTED;
            }
            return ConnectStatus.IN_PROGRESS;
        });
    }

    @Override
    public void closeSocket(SocketHandle socket) throws WsaException {
        call(SpiCall.CLOSE_SOCKET, c -> {
            EngineSocket s = handles.lookup(socket, c.generation);
            if (!s.beginClose()) {
                throw new WsaException(WSAENOTSOCK, s + " is already being closed");
            }
            // Calls already inside the socket finish first, so their operations are registered
            // before they are aborted below (docs/rules.md LC-race).
            if (!s.calls().awaitQuiescent(config.drainTimeout())) {
                LOG.warn("{}: calls on {} still in progress after {} ms; closing anyway. {}", name, s,
                        config.drainTimeout().toMillis(), Diagnostics.threadDump());
            }
            // docs/rules.md SK-no-events-after-close: an event that saw the socket open before beginClose is
            // signalled before closeSocket returns, never after (the kit saw an FD_ACCEPT set after the return).
            if (!s.awaitEventDeliveries(config.drainTimeout())) {
                LOG.warn("{}: event deliveries on {} still in progress after {} ms; closing anyway. {}", name, s,
                        config.drainTimeout().toMillis(), Diagnostics.threadDump());
            }
            teardown.abortPending(s, config.drainTimeout());
            teardown.release(s, SocketTeardown.Kind.CLOSE);
            return null;
        });
    }

    // ------------------------------------------------------------------ events (docs/rules.md BG-events)

    @Override
    public void eventSelect(SocketHandle socket, EventHandle event, int networkEvents) throws WsaException {
        call(SpiCall.EVENT_SELECT, c -> {
            EngineSocket s = c.socket(socket);
            if ((networkEvents & ~NetworkEvents.FD_ALL_EVENTS) != 0) {
                throw new WsaException(WSAEINVAL, "not FD_* bits: 0x" + Integer.toHexString(networkEvents));
            }
            if (networkEvents != 0 && event == null) {
                throw new WsaException(WSAEINVAL, "an event mask needs an event object");
            }
            s.select(event, networkEvents);
            // A request queued before the selection is reported at once, as Winsock does.
            if ((networkEvents & NetworkEvents.FD_ACCEPT) != 0 && s.role() == EngineSocket.Role.LISTENING
                    && s.transport().peekConnectionRequest() != null) {
                events.post(s, NetworkEvents.FD_ACCEPT_BIT, null);
            }
            return null;
        });
    }

    @Override
    public NetworkEventRecord enumNetworkEvents(SocketHandle socket, EventHandle eventToReset) throws WsaException {
        return call(SpiCall.ENUM_NETWORK_EVENTS, c -> {
            NetworkEventRecord record = c.socket(socket).takeRecord();
            if (eventToReset != null) {
                upcalls.resetEvent(eventToReset);
            }
            return record;
        });
    }

    // ------------------------------------------------------------------ overlapped results (docs/rules.md BG-overlapped)

    @Override
    public OverlappedResult getOverlappedResult(SocketHandle socket, Overlapped overlapped, boolean wait)
            throws WsaException {
        try {
            OverlappedResult result;
            try (Call c = new Call(SpiCall.GET_OVERLAPPED_RESULT)) {
                if (overlapped == null) {
                    throw new WsaException(WSAEFAULT, "no overlapped");
                }
                // docs/rules.md Q22: a finished operation reports its result even once its socket is closed.
                result = overlapped.result();
                if (result == null) {
                    c.socket(socket);
                    if (!overlapped.isInProgress()) {
                        throw new WsaException(WSA_INVALID_PARAMETER, "no operation was started on " + overlapped);
                    }
                    if (!wait) {
                        throw new WsaException(WSA_IO_INCOMPLETE, "operation still in progress");
                    }
                }
            }
            if (result == null) {
                // Waited outside the call count: the final cleanup is never held up by a waiter;
                // it aborts the operation, which ends the wait.
                result = awaitResult(overlapped);
            }
            if (!result.isSuccess()) {
                throw new WsaException(result.error(), "the operation failed after " + result.bytesTransferred() + " bytes");
            }
            return result;
        } catch (WsaException e) {
            throw ErrorPolicy.hold(SpiCall.GET_OVERLAPPED_RESULT, e);
        } catch (RuntimeException e) {
            throw ErrorPolicy.unexpected(SpiCall.GET_OVERLAPPED_RESULT, e);
        }
    }

    private static OverlappedResult awaitResult(Overlapped overlapped) throws WsaException {
        while (true) {
            OverlappedResult r;
            try {
                r = overlapped.awaitResult(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WsaException(WSA_IO_INCOMPLETE, "interrupted while waiting", e);
            }
            if (r != null) {
                return r;
            }
            if (!overlapped.isInProgress()) {
                throw new WsaException(WSA_INVALID_PARAMETER, "the operation was never started");
            }
        }
    }

    // ------------------------------------------------------------------ control (docs/rules.md BG-options)

    @Override
    public int ioctl(SocketHandle socket, int ioControlCode, ByteBuffer in, ByteBuffer out) throws WsaException {
        return call(SpiCall.IOCTL, c -> {
            c.socket(socket);
            if (out == null) {
                throw new WsaException(WSAEFAULT, "no output buffer");
            }
            try {
                switch (ioControlCode) {
                    case Winsock.SIO_GET_EXTENSION_FUNCTION_POINTER -> {
                        if (in == null || in.remaining() < 16) {
                            throw new WsaException(WSAEFAULT, "the input is a 16-byte GUID");
                        }
                        ByteBuffer guid = in.duplicate();
                        SanExtension ext = extension(new UUID(guid.getLong(), guid.getLong()));
                        out.putInt(ext.ordinal());
                        return Integer.BYTES;
                    }
                    case Winsock.SIO_ADDRESS_LIST_QUERY -> {
                        List<InetAddress> addresses = transport.localAddresses();
                        int start = out.position();
                        out.putInt(addresses.size());
                        for (InetAddress a : addresses) {
                            byte[] bytes = a.getAddress();
                            out.put((byte) bytes.length).put(bytes);
                        }
                        return out.position() - start;
                    }
                    default -> throw new WsaException(WSAEOPNOTSUPP, "control code 0x" + Integer.toHexString(ioControlCode));
                }
            } catch (BufferOverflowException e) {
                throw new WsaException(WSAEFAULT, "output buffer too small", e);
            }
        });
    }

    @Override
    public SanExtension getExtensionFunction(SocketHandle socket, UUID guid) throws WsaException {
        return call(SpiCall.IOCTL, c -> {
            c.socket(socket);
            if (guid == null) {
                throw new WsaException(WSAEFAULT, "no GUID");
            }
            return extension(guid);
        });
    }

    /** The extension lookup (docs/rules.md RD-extensions): {@code WSAEOPNOTSUPP} for what the backend lacks. */
    private SanExtension extension(UUID guid) throws WsaException {
        SanExtension ext = SanExtension.byGuid(guid);
        if (ext == null) {
            throw new WsaException(WSAEINVAL, "not a SAN extension: " + guid);
        }
        switch (ext) {
            case REGISTER_RDMA_MEMORY, DEREGISTER_RDMA_MEMORY, RDMA_WRITE -> requireRdma(ext);
            case RDMA_READ -> {
                requireRdma(ext);
                if (!capabilities.rdmaRead()) {
                    throw new WsaException(WSAEOPNOTSUPP, transport.name() + " has no RDMA read");
                }
            }
            case MEMORY_REGISTRATION_CACHE_CALLBACK -> throw new WsaException(WSAEOPNOTSUPP,
                    "no registration cache is kept");
            case REGISTER_MEMORY, DEREGISTER_MEMORY -> {
            }
        }
        return ext;
    }

    private void requireRdma(Object what) throws WsaException {
        if (!capabilities.rdma()) {
            throw new WsaException(WSAEOPNOTSUPP, transport.name() + " has no RDMA (" + what + ")");
        }
    }

    @Override
    public int getSockOpt(SocketHandle socket, int level, int optionName) throws WsaException {
        return call(SpiCall.GET_SOCK_OPT, c -> {
            EngineSocket s = c.socket(socket);
            requireLevel(level);
            if (level == Winsock.SOL_SOCKET) {
                switch (optionName) {
                    case Winsock.SO_MAX_MSG_SIZE -> {
                        return unlimitedIfZero(capabilities.maxMessageSize());
                    }
                    case Winsock.SO_MAX_RDMA_SIZE -> {
                        requireRdmaOption(optionName);
                        return unlimitedIfZero(capabilities.maxRdmaSize());
                    }
                    case Winsock.SO_RDMA_THRESHOLD_SIZE -> {
                        requireRdmaOption(optionName);
                        return capabilities.rdmaThresholdSize();
                    }
                    default -> {
                    }
                }
            }
            return s.transport().getOption(level, optionName);
        });
    }

    @Override
    public void setSockOpt(SocketHandle socket, int level, int optionName, int value) throws WsaException {
        call(SpiCall.SET_SOCK_OPT, c -> {
            EngineSocket s = c.socket(socket);
            requireLevel(level);
            if (level == Winsock.SOL_SOCKET && (optionName == Winsock.SO_MAX_MSG_SIZE
                    || optionName == Winsock.SO_MAX_RDMA_SIZE || optionName == Winsock.SO_RDMA_THRESHOLD_SIZE)) {
                throw new WsaException(WSAENOPROTOOPT, "option 0x" + Integer.toHexString(optionName) + " is read-only");
            }
            s.transport().setOption(level, optionName, value);
            return null;
        });
    }

    private static void requireLevel(int level) throws WsaException {
        if (level != Winsock.SOL_SOCKET && level != Winsock.IPPROTO_TCP) {
            throw new WsaException(WSAEINVAL, "option level 0x" + Integer.toHexString(level));
        }
    }

    private void requireRdmaOption(int optionName) throws WsaException {
        if (!capabilities.rdma()) {
            throw new WsaException(WSAENOPROTOOPT, transport.name() + " has no RDMA (option 0x"
                    + Integer.toHexString(optionName) + ")");
        }
    }

    private static int unlimitedIfZero(int size) {
        return size == 0 ? Integer.MAX_VALUE : size;
    }

    // ------------------------------------------------------------------ transfers (docs/rules.md BG-overlapped, BG-session, BG-rdma-flows)

    @Override
    public void send(SocketHandle socket, WsaBuf[] buffers, int flags, Overlapped overlapped) throws WsaException {
        call(SpiCall.SEND, c -> post(c, socket, Kind.SEND, buffers, null, 0, flags, overlapped));
    }

    @Override
    public void recv(SocketHandle socket, WsaBuf[] buffers, Overlapped overlapped) throws WsaException {
        call(SpiCall.RECV, c -> post(c, socket, Kind.RECV, buffers, null, 0, 0, overlapped));
    }

    @Override
    public void rdmaWrite(SocketHandle socket, WsaBuf[] localBuffers, RdmaBufferDescriptor target, long targetOffset,
            int flags, Overlapped overlapped) throws WsaException {
        call(SpiCall.RDMA_WRITE, c -> post(c, socket, Kind.RDMA_WRITE, localBuffers, target, targetOffset, flags, overlapped));
    }

    @Override
    public void rdmaRead(SocketHandle socket, WsaBuf[] localBuffers, RdmaBufferDescriptor source, long sourceOffset,
            int flags, Overlapped overlapped) throws WsaException {
        call(SpiCall.RDMA_READ, c -> post(c, socket, Kind.RDMA_READ, localBuffers, source, sourceOffset, flags, overlapped));
    }

    /**
     * Starts one transfer. Registered in the socket's pending set before the backend sees it,
     * while the call is counted, so a racing close or cleanup finds it and aborts it (docs/rules.md LC-race).
     * A failure here means "not started": memory unpinned, overlapped free again, no completion.
     */
    private Void post(Call c, SocketHandle socket, Kind kind, WsaBuf[] buffers, RdmaBufferDescriptor remote,
            long remoteOffset, int flags, Overlapped overlapped) throws WsaException {
        EngineSocket s = c.socket(socket);
        boolean rdma = kind == Kind.RDMA_WRITE || kind == Kind.RDMA_READ;
        if (rdma) {
            requireRdma(kind);
            if (kind == Kind.RDMA_READ && !capabilities.rdmaRead()) {
                throw new WsaException(WSAEOPNOTSUPP, transport.name() + " has no RDMA read");
            }
        }
        if (overlapped == null || buffers == null) {
            throw new WsaException(WSAEFAULT, "a transfer needs buffers and an overlapped");
        }
        if (buffers.length == 0) {
            throw new WsaException(WSAEINVAL, "no buffers");
        }
        if (flags != 0) {
            throw new WsaException(WSAEINVAL, "flags must be 0, were " + flags);
        }
        if (s.role() != EngineSocket.Role.CONNECTED) {
            throw new WsaException(WSAENOTCONN, s + " is not connected");
        }
        if (rdma && remote == null) {
            throw new WsaException(WSAEFAULT, "no RDMA buffer descriptor");
        }
        if (rdma && remoteOffset < 0) {
            throw new WsaException(WSAEINVAL, "negative offset " + remoteOffset);
        }
        int access = kind == Kind.SEND || kind == Kind.RDMA_WRITE ? Winsock.MEM_READ : Winsock.MEM_WRITE;
        Registration[] pins = new Registration[buffers.length];
        ByteBuffer[] slices = s.memory().resolveAndPin(buffers, access, pins);
        PendingOperation op = new PendingOperation(s, kind, overlapped, slices, pins, remote, remoteOffset);
        boolean begun = false;
        OverlappedResult early = null;
        try {
            checkSize(kind, op.length());
            if (rdma) {
                s.transport().checkRemote(remote, remoteOffset, op.length());
            }
            if (!Completions.COMPLETER.begin(overlapped)) {
                throw new WsaException(WSAEINVAL, "the overlapped still carries a request in progress");
            }
            begun = true;
            s.addPending(op);
            op.beginPosting();
            try {
                s.transport().post(op);
            } finally {
                early = op.endPosting();
            }
            if (early != null) {
                c.completeAfterReturn(op, early); // docs/rules.md OV-immediate
            }
            return null;
        } catch (WsaException | RuntimeException e) {
            s.removePending(op);
            // A report made inside a post that then failed is dropped: the call started nothing.
            if (early != null || op.tryClaim()) {
                op.releaseMemory();
                op.markDone();
                if (begun) {
                    Completions.COMPLETER.abandon(overlapped);
                }
            } else {
                LOG.error("{}: backend reported {} although its post failed", name, op);
            }
            throw e;
        }
    }

    private void checkSize(Kind kind, long length) throws WsaException {
        int max = switch (kind) {
            case SEND -> capabilities.maxMessageSize();
            case RDMA_WRITE, RDMA_READ -> capabilities.maxRdmaSize();
            case RECV -> 0;
        };
        if (max > 0 && length > max) {
            throw new WsaException(WSAEMSGSIZE, length + " bytes exceed the limit of " + max);
        }
    }

    // ------------------------------------------------------------------ memory (docs/rules.md BG-registered, BG-cache)

    @Override
    public MemoryHandle registerMemory(SocketHandle socket, ByteBuffer buffer, int access) throws WsaException {
        return call(SpiCall.REGISTER_MEMORY, c -> register(c.socket(socket), buffer, access, false));
    }

    @Override
    public void deregisterMemory(SocketHandle socket, MemoryHandle registration) throws WsaException {
        call(SpiCall.DEREGISTER_MEMORY, c -> {
            // docs/rules.md Q23: registrations die with their socket; afterwards WSAEINVAL.
            c.socketOr(socket, WSAEINVAL).memory().deregisterLocal(registration);
            return null;
        });
    }

    @Override
    public RdmaBufferDescriptor registerRdmaMemory(SocketHandle socket, ByteBuffer buffer, int access)
            throws WsaException {
        return call(SpiCall.REGISTER_RDMA_MEMORY, c -> {
            EngineSocket s = c.socket(socket);
            requireRdma(SanExtension.REGISTER_RDMA_MEMORY);
            return register(s, buffer, access, true).descriptor();
        });
    }

    @Override
    public void deregisterRdmaMemory(SocketHandle socket, RdmaBufferDescriptor descriptor) throws WsaException {
        call(SpiCall.DEREGISTER_RDMA_MEMORY, c -> {
            requireRdma(SanExtension.DEREGISTER_RDMA_MEMORY);
            c.socketOr(socket, WSAEINVAL).memory().deregisterRemote(descriptor);
            return null;
        });
    }

    private Registration register(EngineSocket s, ByteBuffer buffer, int access, boolean remote) throws WsaException {
        if (buffer == null) {
            throw new WsaException(WSAEFAULT, "no buffer");
        }
        if (access != Winsock.MEM_READ && access != Winsock.MEM_WRITE && access != Winsock.MEM_READWRITE) {
            throw new WsaException(WSAEINVAL, "access flags " + access);
        }
        if (!buffer.hasRemaining()) {
            throw new WsaException(WSAEFAULT, "an empty buffer cannot be registered");
        }
        if (buffer.isReadOnly() && (access & Winsock.MEM_WRITE) != 0) {
            throw new WsaException(WSAEFAULT, "a read-only buffer cannot be registered for writing");
        }
        if (s.role() != EngineSocket.Role.CONNECTED) {
            throw new WsaException(WSAENOTCONN, s + " is not connected");
        }
        TransportRegion region = s.transport().register(buffer.slice(), access, remote);
        if (remote && region.remoteDescriptor() == null) {
            s.transport().deregister(region);
            throw new WsaException(WSAENOBUFS, transport.name() + " gave no descriptor for an RDMA registration");
        }
        Registration r = new Registration(s, region, access, remote);
        if (remote) {
            s.memory().addRemote(r);
        } else {
            s.memory().addLocal(r);
        }
        return r;
    }

    @Override
    public void memoryRegistrationCacheCallback(ByteBuffer buffer) throws WsaException {
        call(SpiCall.MEMORY_REGISTRATION_CACHE_CALLBACK, c -> {
            throw new WsaException(WSAEOPNOTSUPP, "no registration cache is kept (docs/rules.md BG-cache)");
        });
    }

    // ------------------------------------------------------------------ diagnostics

    /** The lifecycle state, reference count and generation. */
    public String state() {
        Lifecycle.Snapshot s = lifecycle.snapshot();
        return s.state() + " count=" + s.count() + " generation=" + s.generation();
    }

    public int referenceCount() {
        return lifecycle.snapshot().count();
    }

    public boolean isRunning() {
        return lifecycle.snapshot().state().acceptsCalls();
    }

    public int openSockets() {
        return handles.size();
    }

    public int pendingOperations() {
        int n = 0;
        for (EngineSocket s : handles.snapshot()) {
            n += s.pendingCount();
        }
        return n;
    }

    /** The backend's name ("ucx", "tcp"), as in the provider's {@code sanswitch.transport} property. */
    public String transportName() {
        return transport.name();
    }

    /** State, count, sockets, pending operations and generation, for {@code san:providers}. */
    public ProviderStatus status() {
        Lifecycle.Snapshot s = lifecycle.snapshot();
        return new ProviderStatus(transport.name(), s.state().name(), s.count(), openSockets(), pendingOperations(),
                s.generation(), cleanupSequence.count());
    }

    /** Bytes delivered by completed receives and RDMA reads on every socket so far, closed ones included. */
    public long bytesReceived() {
        return totals.received();
    }

    /** Bytes reported sent by completed sends and RDMA writes on every socket so far, closed ones included. */
    public long bytesSent() {
        return totals.sent();
    }

    /** The last final cleanups of this provider, oldest first (at most 16), for {@code san:cleanup-history}. */
    public List<CleanupRecord> cleanupHistory() {
        return cleanupSequence.history();
    }

    @Override
    public Supplier<List<CleanupRecord>> cleanupHistoryView() {
        return cleanupSequence.historyView();
    }

    /** The open sockets with their addresses and byte counts, for {@code san:sockets}. */
    public List<SocketStatus> sockets() {
        List<EngineSocket> open = handles.snapshot();
        List<SocketStatus> out = new ArrayList<>(open.size());
        for (EngineSocket s : open) {
            InetSocketAddress local;
            try {
                local = s.transport().localAddress();
            } catch (RuntimeException e) {
                local = null; // a backend's diagnostics must not break the listing
            }
            out.add(new SocketStatus(transport.name(), s.handle().toString(),
                    s.hasSwitchHandle() ? s.switchHandle() : -1, s.role().name(), local, s.peer(), s.bytesIn(),
                    s.bytesOut(), s.pendingCount()));
        }
        out.sort(Comparator.comparing(SocketStatus::handle));
        return out;
    }

    CleanupRecord lastCleanupReport() {
        return cleanupSequence.lastReport();
    }

    LifecycleState lifecycleState() {
        return lifecycle.snapshot().state();
    }

    EngineSocket socketFor(SocketHandle handle) throws WsaException {
        return handles.lookup(handle, lifecycle.snapshot().generation());
    }

    // ------------------------------------------------------------------ call guard (docs/rules.md LC-race)

    @FunctionalInterface
    private interface Body<T> {
        T apply(Call call) throws WsaException;
    }

    private <T> T call(SpiCall spi, Body<T> body) throws WsaException {
        try (Call c = new Call(spi)) {
            return body.apply(c);
        } catch (WsaException e) {
            throw ErrorPolicy.hold(spi, e);
        } catch (RuntimeException e) {
            throw ErrorPolicy.unexpected(spi, e);
        }
    }

    /**
     * One SPI call in progress: counted before the state is read (check-enter-recheck), so the
     * final cleanup either refuses it or waits for it.
     */
    private final class Call implements AutoCloseable {
        final long generation;
        private EngineSocket socket;
        private PendingOperation lateOp;
        private OverlappedResult lateResult;

        Call(SpiCall spi) throws WsaException {
            calls.enter();
            Lifecycle.Snapshot s = lifecycle.snapshot();
            if (!s.state().acceptsCalls()) {
                calls.exit();
                throw new WsaException(WSANOTINITIALISED, name + ": no startupEx outstanding (" + s.state() + ")");
            }
            if (networkDown.get() && spi.allows(WSAENETDOWN) && spi != SpiCall.CLOSE_SOCKET
                    && spi != SpiCall.GET_OVERLAPPED_RESULT) {
                calls.exit();
                throw new WsaException(WSAENETDOWN, name + ": the network subsystem failed");
            }
            this.generation = s.generation();
        }

        /** The live socket of the descriptor, counted as a call on it until this call ends. */
        EngineSocket socket(SocketHandle handle) throws WsaException {
            EngineSocket s = handles.lookup(handle, generation);
            s.calls().enter();
            if (!s.isOpen()) {
                s.calls().exit();
                throw new WsaException(WSAENOTSOCK, s + " is being closed");
            }
            socket = s;
            return s;
        }

        EngineSocket socketOr(SocketHandle handle, WsaError instead) throws WsaException {
            try {
                return socket(handle);
            } catch (WsaException e) {
                throw new WsaException(instead, e.getMessage(), e);
            }
        }

        /** {@code op}, reported inside its post, is completed once this call is over. */
        void completeAfterReturn(PendingOperation op, OverlappedResult result) {
            lateOp = op;
            lateResult = result;
        }

        @Override
        public void close() {
            if (socket != null) {
                socket.calls().exit();
            }
            calls.exit();
            if (lateOp != null) {
                lateCompletions.complete(lateOp, lateResult);
            }
        }
    }

    @FunctionalInterface
    private interface BackendStep<T> {
        T run() throws WsaException;
    }

    /**
     * Moves a socket to the role it has while a backend step runs (so a concurrent call on it sees
     * that role), and back again if the step fails: a failed bind, listen or connect leaves the
     * socket as it was.
     */
    private static <T> T transition(EngineSocket s, EngineSocket.Role from, EngineSocket.Role to, WsaError raced,
            BackendStep<T> step) throws WsaException {
        if (!s.compareAndSetRole(from, to)) {
            throw new WsaException(raced, s + " is no longer " + from);
        }
        boolean done = false;
        try {
            T result = step.run();
            done = true;
            return result;
        } finally {
            if (!done) {
                s.compareAndSetRole(to, from);
            }
        }
    }

    private static void requireAddress(InetSocketAddress address) throws WsaException {
        if (address == null || address.isUnresolved()) {
            throw new WsaException(WSAEFAULT, "not a resolved IP socket address: " + address);
        }
    }

    @Override
    public String toString() {
        return name + "[" + state() + ", " + openSockets() + " sockets]";
    }
}
