package io.sanswitch.tcp;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;

/**
 * A real provider engine, every call passed through as it is, that notes what the switch asks of it:
 * the memory it registers for sending and for receiving, the registrations it releases, and the sends
 * and receives it posts (with their overlappeds, to see how many are in progress at once).
 */
final class WatchedProvider implements InvocationHandler {
    /** One provider send the switch posted. */
    record PostedSend(Overlapped overlapped, long bytes) {
    }

    /** A provider receive posted into registered memory (a view of it). */
    record ReceiveInto(ByteBuffer memory, MemoryHandle handle, Overlapped overlapped) {
    }

    /** Memory registered with MEM_READ (or MEM_WRITE): a view of it, and its handle. */
    record Registered(ByteBuffer memory, MemoryHandle handle) {
    }

    private final ProviderEngine engine;
    private final List<PostedSend> sends = new ArrayList<>();
    private final List<Overlapped> receives = new ArrayList<>();
    private final List<Registered> forSending = new ArrayList<>();
    private final List<Registered> forReceiving = new ArrayList<>();
    /** The memory of each provider receive posted, with its overlapped. */
    private final List<ReceiveInto> receivesInto = new ArrayList<>();
    private final List<MemoryHandle> released = new ArrayList<>();
    private int mostSendsInProgress;
    private int mostReceivesInProgress;

    private WatchedProvider(ProviderEngine engine) {
        this.engine = engine;
    }

    static Watched watch(ProviderEngine engine) {
        WatchedProvider w = new WatchedProvider(engine);
        SanServiceProvider spi = (SanServiceProvider) Proxy.newProxyInstance(WatchedProvider.class.getClassLoader(),
                new Class<?>[] {SanServiceProvider.class}, w);
        return new Watched(spi, w);
    }

    /** The provider to bind, and what it saw. */
    record Watched(SanServiceProvider spi, WatchedProvider seen) {
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        Object result;
        try {
            result = method.invoke(engine, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        synchronized (this) {
            switch (method.getName()) {
                case "registerMemory" -> {
                    if ((int) args[2] == Winsock.MEM_READ) {
                        forSending.add(new Registered(((ByteBuffer) args[1]).duplicate(), (MemoryHandle) result));
                    } else if ((int) args[2] == Winsock.MEM_WRITE) {
                        forReceiving.add(new Registered(((ByteBuffer) args[1]).duplicate(), (MemoryHandle) result));
                    }
                }
                case "deregisterMemory" -> released.add((MemoryHandle) args[1]);
                case "send" -> {
                    long bytes = 0;
                    for (WsaBuf b : (WsaBuf[]) args[1]) {
                        bytes += b.length();
                    }
                    sends.add(new PostedSend((Overlapped) args[3], bytes));
                    mostSendsInProgress = Math.max(mostSendsInProgress,
                            (int) sends.stream().filter(s -> s.overlapped().isInProgress()).count());
                }
                case "recv" -> {
                    receives.add((Overlapped) args[2]);
                    MemoryHandle into = ((WsaBuf[]) args[1])[0].registration();
                    forReceiving.stream().filter(r -> r.handle() == into).findFirst()
                            .ifPresent(r -> receivesInto.add(new ReceiveInto(r.memory(), into, (Overlapped) args[2])));
                    mostReceivesInProgress = Math.max(mostReceivesInProgress,
                            (int) receives.stream().filter(Overlapped::isInProgress).count());
                }
                default -> {
                }
            }
        }
        return result;
    }

    /** The most provider sends that were in progress at once (seen when one was posted). */
    synchronized int mostSendsInProgress() {
        return mostSendsInProgress;
    }

    synchronized int mostReceivesInProgress() {
        return mostReceivesInProgress;
    }

    /** Bytes of the provider sends that completed successfully so far. */
    synchronized long bytesSent() {
        return sends.stream().filter(s -> s.overlapped().isDone() && s.overlapped().result().isSuccess())
                .mapToLong(PostedSend::bytes).sum();
    }

    synchronized List<Registered> registeredForSending() {
        return new ArrayList<>(forSending);
    }

    /** The provider receives posted so far, each with the memory it was posted into. */
    synchronized List<ReceiveInto> receivesInto() {
        return new ArrayList<>(receivesInto);
    }

    synchronized boolean released(MemoryHandle h) {
        return released.contains(h);
    }
}
