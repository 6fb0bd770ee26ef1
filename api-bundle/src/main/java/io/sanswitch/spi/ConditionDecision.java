package io.sanswitch.spi;

/** What the switch's condition function answers for a connection request (spec 6.3, 7.2). */
public enum ConditionDecision {
    /** {@code CF_ACCEPT}: accept the request. */
    CF_ACCEPT(0),
    /** {@code CF_REJECT}: refuse it; the peer's connect fails with {@code WSAECONNREFUSED}. */
    CF_REJECT(1),
    /** {@code CF_DEFER}: keep it queued; accept fails with {@code WSATRY_AGAIN} (spec Q16). */
    CF_DEFER(2);

    private final int value;

    ConditionDecision(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }
}
