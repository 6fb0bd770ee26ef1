package io.sanswitch.testing;

import java.lang.reflect.Method;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/**
 * How long one property runs. Without {@code -Dfuzz.minutes} it runs the tries its test names
 * (a few seconds for all properties, for CI). With {@code -Dfuzz.minutes=N} the properties of a
 * test class share about N minutes: each runs tries until its share of the time is used up.
 */
public final class FuzzBudget {
    public static final String MINUTES = "fuzz.minutes";
    private final int tries;
    private final long deadline;
    private final boolean timed;

    private FuzzBudget(int tries, long deadline, boolean timed) {
        this.tries = tries;
        this.deadline = deadline;
        this.timed = timed;
    }

    /** The budget of one property of {@code container} that runs {@code ciTries} tries in CI. */
    public static FuzzBudget of(Class<?> container, int ciTries) {
        double minutes = Double.parseDouble(System.getProperty(MINUTES, "0"));
        if (minutes <= 0) {
            return new FuzzBudget(ciTries, 0, false);
        }
        long share = (long) (minutes * 60e9 / propertiesIn(container));
        return new FuzzBudget(Integer.MAX_VALUE, System.nanoTime() + share, true);
    }

    /** Whether another try follows {@code done} tries (a timed run makes at least one). */
    public boolean another(int done) {
        return done < tries && (!timed || done == 0 || System.nanoTime() - deadline < 0);
    }

    public boolean timed() {
        return timed;
    }

    /** Each property is one JUnit test of its class. */
    private static long propertiesIn(Class<?> container) {
        Method[] methods = container.getDeclaredMethods();
        return Math.max(1, Arrays.stream(methods).filter(m -> m.isAnnotationPresent(Test.class)).count());
    }
}
