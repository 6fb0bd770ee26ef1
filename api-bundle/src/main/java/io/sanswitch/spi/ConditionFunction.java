package io.sanswitch.spi;

import java.net.InetSocketAddress;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The switch's condition function ({@code lpfnCondition}) that {@code accept} consults. The
 * provider calls it on the thread that called {@code accept}, before {@code accept} returns, and
 * tells the peer nothing before it has answered (docs/rules.md AC-condition). It must not block.
 */
@ConsumerType
@FunctionalInterface
public interface ConditionFunction {
    /**
     * @param caller the peer's address
     * @param callerData the peer's connect data, empty when none
     * @param callbackData the value the switch passed to {@code accept}
     */
    ConditionDecision decide(InetSocketAddress caller, byte[] callerData, long callbackData);
}
