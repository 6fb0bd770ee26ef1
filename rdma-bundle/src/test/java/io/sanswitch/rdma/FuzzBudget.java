package io.sanswitch.rdma;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;

import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.AroundTryHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;
import net.jqwik.api.lifecycle.TryExecutionResult;
import net.jqwik.api.lifecycle.TryExecutor;
import net.jqwik.api.lifecycle.TryLifecycleContext;

/**
 * The time budget of the decoders' properties. Without {@code -Dfuzz.minutes} a property runs the
 * tries its annotation names (a few seconds in all, for CI). With {@code -Dfuzz.minutes=N} the
 * properties of a class share about N minutes: each runs tries until its share of the time is
 * used up.
 */
public final class FuzzBudget implements AroundPropertyHook, AroundTryHook {
    static final String MINUTES = "fuzz.minutes";
    private volatile boolean timed;
    private volatile long deadline;

    /** Registered on a test class, it wraps each property of the class. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        double minutes = Double.parseDouble(System.getProperty(MINUTES, "0"));
        if (minutes > 0) {
            long share = (long) (minutes * 60e9 / propertiesIn(context.containerClass()));
            deadline = System.nanoTime() + share;
            timed = true;
            context.attributes().setTries(Integer.MAX_VALUE);
        }
        return property.execute();
    }

    @Override
    public TryExecutionResult aroundTry(TryLifecycleContext context, TryExecutor aTry, List<Object> parameters) {
        TryExecutionResult r = aTry.execute(parameters);
        // Past the deadline a satisfied try ends the property as a success.
        return timed && r.isSatisfied() && System.nanoTime() - deadline > 0 ? TryExecutionResult.satisfied(true) : r;
    }

    private static long propertiesIn(Class<?> container) {
        Method[] methods = container.getDeclaredMethods();
        return Math.max(1, Arrays.stream(methods).filter(m -> m.isAnnotationPresent(Property.class)).count());
    }
}
