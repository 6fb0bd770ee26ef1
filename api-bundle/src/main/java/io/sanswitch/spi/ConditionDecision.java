package io.sanswitch.spi;

/** What the switch's condition function answers for a connection request (docs/rules.md AC-condition, BG-constants). */
public enum ConditionDecision {
    /** {@code CF_ACCEPT}: accept the request. */
    CF_ACCEPT(0),
    /** {@code CF_REJECT}: refuse it; the peer's connect fails with {@code WSAECONNREFUSED}. */
    CF_REJECT(1),
    /** {@code CF_DEFER}: keep it queued; accept fails with {@code WSATRY_AGAIN} (docs/rules.md Q16). */
    CF_DEFER(2);

    private final int value;

    ConditionDecision(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }
}
