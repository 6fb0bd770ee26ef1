package io.sanswitch.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An event object of the switch, the Java form of the {@code hEventObject} given to
 * {@code eventSelect}. The provider never signals it directly: it passes it back through
 * {@link UpcallTable#setEvent} and {@link UpcallTable#resetEvent} (docs/rules.md BG-upcalls), so the switch decides
 * what an event object is. Compared by identity.
 *
 * <p>{@code @ConsumerType}: implemented by the switch, outside the provider.
 */
@ConsumerType
public interface EventHandle {
}
