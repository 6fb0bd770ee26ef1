package io.sanswitch.core.switcher;

import io.sanswitch.spi.EventHandle;

/**
 * An event object of the switch (docs/rules.md BG-events): setting it runs its reaction on the owner's
 * {@link SerialQueue}, never on the provider's thread.
 */
final class SwitchEvent implements EventHandle {
    private final SerialQueue owner;
    private final Runnable reaction;

    SwitchEvent(SerialQueue owner, Runnable reaction) {
        this.owner = owner;
        this.reaction = reaction;
    }

    void set() {
        owner.execute(reaction);
    }
}
