package io.sanswitch.core;

/** The engine's lifecycle (docs/rules.md LC-count … LC-f; an enum with predicates). */
enum LifecycleState {
    /** No startup outstanding; the transport is closed. */
    IDLE,
    /** The first startup is opening the transport. */
    STARTING,
    /** At least one startup outstanding; calls are accepted. */
    RUNNING,
    /** The final cleanup runs; calls are refused with {@code WSANOTINITIALISED}. */
    CLEANING_UP;

    boolean acceptsCalls() {
        return this == RUNNING;
    }
}
