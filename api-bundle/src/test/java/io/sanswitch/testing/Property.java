package io.sanswitch.testing;

import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A property-based test runner: checks a property against values drawn from a {@link Generator}
 * driven by one seeded {@link Random}. The first failure (an assertion or any other exception)
 * fails the test with the seed, the try and the value; {@code -Dfuzz.seed=S} repeats that run. The
 * number of tries is the test's in CI, or the share of {@code -Dfuzz.minutes=N} ({@link FuzzBudget}).
 *
 * <pre>
 * &#64;Test
 * void decodesOrRefuses() {
 *     Property.forAll("any bytes", 2000, Generator.bytes(0, 64), Property.shorterBytes(0), bytes -&gt; ...);
 * }
 * </pre>
 */
public final class Property {
    public static final String SEED = "fuzz.seed";
    /** Checks of smaller values after a failure, at most: shrinking stays well under a second. */
    private static final int SHRINK_STEPS = 5000;

    private Property() {
    }

    /** The check of one value: returns normally when the property holds, throws when it does not. */
    @FunctionalInterface
    public interface Check<T> {
        void verify(T value) throws Exception;
    }

    /** Smaller versions of a failing value, the most promising first; each must be a value the generator can make. */
    @FunctionalInterface
    public interface Shrinker<T> {
        Stream<T> smaller(T value);
    }

    /** Checks {@code ciTries} generated values in CI, or values for a share of {@code -Dfuzz.minutes}; no shrinking. */
    public static <T> void forAll(String name, int ciTries, Generator<T> generator, Check<T> check) {
        forAll(name, ciTries, generator, value -> Stream.empty(), check);
    }

    /**
     * As {@link #forAll(String, int, Generator, Check)}; a failing value is then shrunk greedily (the
     * first smaller value that still fails, again, for at most {@value #SHRINK_STEPS} checks). The
     * properties of the calling test class share {@code -Dfuzz.minutes}.
     */
    public static <T> void forAll(String name, int ciTries, Generator<T> generator, Shrinker<T> shrinker, Check<T> check) {
        Class<?> container = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).walk(frames -> frames
                .map(StackWalker.StackFrame::getDeclaringClass).filter(c -> c != Property.class).findFirst().orElseThrow());
        FuzzBudget budget = FuzzBudget.of(container, ciTries);
        long seed = Long.getLong(SEED, ThreadLocalRandom.current().nextLong());
        Random random = new Random(seed);
        long start = System.nanoTime();
        int tries = 0;
        while (budget.another(tries)) {
            T value = generator.next(random);
            tries++;
            Throwable failure = failure(check, value);
            if (failure != null) {
                throw falsified(name, seed, tries, value, failure, shrinker, check);
            }
        }
        if (budget.timed()) {
            System.out.printf("property '%s': %d tries in %.1f s, seed %d%n", name, tries,
                    (System.nanoTime() - start) / 1e9, seed);
        }
    }

    /**
     * Shorter arrays of at least {@code minSize} bytes: a prefix, the array without its first k
     * bytes (for every k: a stream's first frames go whole), without a run of n/2, n/4 … 1 bytes anywhere.
     */
    public static Shrinker<byte[]> shorterBytes(int minSize) {
        return b -> {
            Stream<byte[]> prefixes = IntStream.of(minSize, b.length / 2, b.length - 1).distinct()
                    .filter(n -> n >= minSize && n < b.length).mapToObj(n -> Arrays.copyOf(b, n));
            Stream<byte[]> tails = IntStream.rangeClosed(1, b.length - minSize).mapToObj(k -> without(b, 0, k));
            Stream<byte[]> cuts = IntStream.iterate(b.length / 2, run -> run >= 1, run -> run / 2)
                    .filter(run -> b.length - run >= minSize).boxed()
                    .flatMap(run -> IntStream.rangeClosed(1, b.length - run).mapToObj(at -> without(b, at, run)));
            return Stream.of(prefixes, tails, cuts).flatMap(s -> s);
        };
    }

    private static byte[] without(byte[] b, int at, int run) {
        byte[] out = new byte[b.length - run];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, at + run, out, at, b.length - at - run);
        return out;
    }

    private static <T> Throwable failure(Check<T> check, T value) {
        try {
            check.verify(value);
            return null;
        } catch (Exception | AssertionError | StackOverflowError | OutOfMemoryError e) {
            return e; // "never another exception" and "no unbounded allocation" are properties too
        }
    }

    private static <T> AssertionError falsified(String name, long seed, int tries, T value, Throwable failure,
            Shrinker<T> shrinker, Check<T> check) {
        T smallest = value;
        Throwable why = failure;
        int steps = 0;
        int shrunk = 0;
        search:
        while (steps < SHRINK_STEPS) {
            Iterator<T> candidates = shrinker.smaller(smallest).iterator();
            while (candidates.hasNext() && steps++ < SHRINK_STEPS) {
                T candidate = candidates.next();
                Throwable f = failure(check, candidate);
                if (f != null) {
                    smallest = candidate;
                    why = f;
                    shrunk++;
                    continue search;
                }
            }
            break;
        }
        StringBuilder message = new StringBuilder().append("property '").append(name).append("' failed at try ")
                .append(tries).append(" (seed ").append(seed).append(": repeat with -D").append(SEED).append('=')
                .append(seed).append(")\n  value: ").append(describe(value));
        if (shrunk > 0) {
            message.append("\n  shrunk in ").append(shrunk).append(" steps to: ").append(describe(smallest));
        }
        message.append("\n  because: ").append(why);
        AssertionError e = new AssertionError(message.toString(), why);
        if (why != failure) {
            e.addSuppressed(failure);
        }
        return e;
    }

    /** A value for a failure message: bytes in hex (the first 256), records and lists by their parts. */
    public static String describe(Object value) {
        if (value instanceof byte[] b) {
            return "byte[" + b.length + "] " + HexFormat.of().formatHex(b, 0, Math.min(b.length, 256))
                    + (b.length > 256 ? "…" : "");
        } else if (value instanceof ByteBuffer buffer) {
            byte[] b = new byte[buffer.remaining()];
            buffer.duplicate().get(b);
            return "ByteBuffer " + describe(b);
        } else if (value instanceof List<?> list) {
            return list.stream().map(Property::describe).collect(Collectors.joining(", ", "[", "]"));
        } else if (value instanceof Record r) {
            return r.getClass().getSimpleName() + Stream.of(r.getClass().getRecordComponents())
                    .map(c -> c.getName() + "=" + describe(component(r, c))).collect(Collectors.joining(", ", "[", "]"));
        }
        return String.valueOf(value);
    }

    private static Object component(Record r, RecordComponent c) {
        try {
            c.getAccessor().setAccessible(true);
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "?";
        }
    }
}
