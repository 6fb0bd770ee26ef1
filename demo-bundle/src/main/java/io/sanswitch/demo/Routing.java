package io.sanswitch.demo;

/** Which provider new connections use: the preferred (ucx) one while it lives, else the fallback (tcp). */
final class Routing {
    private final ProviderSide fallback;
    private volatile ProviderSide preferred;

    Routing(ProviderSide preferred, ProviderSide fallback) {
        this.preferred = preferred;
        this.fallback = fallback;
    }

    ProviderSide target() {
        ProviderSide p = preferred;
        return p != null && !p.isDead() ? p : fallback;
    }

    ProviderSide fallback() {
        return fallback;
    }

    void prefer(ProviderSide side) {
        preferred = side;
    }
}
