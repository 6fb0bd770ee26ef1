package io.sanswitch.demo;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One echo client: keeps echoing over the preferred provider while it is alive, falls back to tcp
 * when an operation is aborted or the provider refuses calls, and moves back once a new ucx
 * provider is preferred again: what the switch will do per connection.
 */
final class Client implements Runnable {
    private final int id;
    private final Routing routing;
    private final Stats stats;
    private final Console console;
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicInteger fallbacks = new AtomicInteger();
    final AtomicInteger moves = new AtomicInteger();
    volatile String failure;
    volatile String provider = "-";
    private EchoLink link;

    Client(int id, Routing routing, Stats stats, Console console) {
        this.id = id;
        this.routing = routing;
        this.stats = stats;
        this.console = console;
    }

    @Override
    public void run() {
        long round = 0;
        try {
            while (running.get()) {
                ProviderSide target = routing.target();
                if (link != null && link.side != target) {
                    console.line(String.format("  client %d: %s is back (service %d): moving from %s to %s", id,
                            target.name, target.serviceId, link.side.name, target.name));
                    closeLink();
                    moves.incrementAndGet();
                }
                try {
                    if (link == null) {
                        link = new EchoLink(target);
                        provider = target.name;
                    }
                    stats.add(link.side.name, link.echo(round++));
                } catch (EchoLink.Broken e) {
                    fallBack(e.error, e.getMessage());
                } catch (WsaException e) {
                    fallBack(e.error(), e.getMessage());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = "client " + id + ": " + e.getMessage();
            console.line("  " + failure);
        } finally {
            closeLink();
        }
    }

    private void closeLink() {
        if (link != null) {
            try {
                link.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            link = null;
        }
    }

    /** The link's provider failed it: mark the provider dead if it is gone, and go on elsewhere. */
    private void fallBack(WsaError error, String message) {
        ProviderSide side = link == null ? routing.target() : link.side;
        closeLink();
        boolean gone = error == WsaError.WSA_OPERATION_ABORTED || error == WsaError.WSANOTINITIALISED
                || error == WsaError.WSAECONNRESET || error == WsaError.WSAENETDOWN;
        if (!gone || side == routing.fallback()) {
            failure = "client " + id + " on " + side.name + ": " + message;
            console.line("  " + failure);
            running.set(false);
            return;
        }
        side.markDead(error.name());
        stats.abortSeen(error);
        fallbacks.incrementAndGet();
        console.line(String.format("  client %d: %s -> %s; falling back to %s", id, message, side.name + " is gone",
                routing.fallback().name));
    }
}
