package io.sanswitch.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Makes one value for a property from a seeded {@link Random}, so that a run is repeated by its
 * seed. The ranges here favour the values where decoders break: the ends of a range, small sizes,
 * 0 and -1 bytes.
 */
@FunctionalInterface
public interface Generator<T> {

    T next(Random random);

    default <R> Generator<R> map(Function<? super T, ? extends R> f) {
        return random -> f.apply(next(random));
    }

    static <T> Generator<T> constant(T value) {
        return random -> value;
    }

    /** One of the generators, each as likely (list one twice to make it twice as likely). */
    @SafeVarargs
    static <T> Generator<T> oneOf(Generator<? extends T>... choices) {
        return random -> choices[random.nextInt(choices.length)].next(random);
    }

    @SafeVarargs
    static <T> Generator<T> of(T... values) {
        return random -> values[random.nextInt(values.length)];
    }

    /** An int of {@code min} … {@code max}; one try in eight an end of the range or a neighbour of one. */
    static Generator<Integer> ints(int min, int max) {
        return longs(min, max).map(Long::intValue);
    }

    static Generator<Integer> anyInt() {
        return ints(Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    /** The values around {@code bound}: bound - 2 … bound + 2. */
    static Generator<Integer> around(int bound) {
        return random -> bound + random.nextInt(5) - 2;
    }

    /** A long of {@code min} … {@code max}; one try in eight an end of the range or a neighbour of one. */
    static Generator<Long> longs(long min, long max) {
        return random -> {
            if (random.nextInt(8) == 0) {
                long[] edges = {min, max, Math.min(min + 1, max), Math.max(max - 1, min),
                    min <= 0 && 0 <= max ? 0 : min};
                return edges[random.nextInt(edges.length)];
            }
            long span = max - min + 1;
            if (span > 0) {
                return min + random.nextLong(span);
            }
            long v; // the range is wider than 2^63: at least every second long is in it
            do {
                v = random.nextLong();
            } while (v < min || v > max);
            return v;
        };
    }

    static Generator<Long> anyLong() {
        return longs(Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /**
     * Byte arrays of {@code minSize} … {@code maxSize} bytes, mostly short (up to 16 bytes over the
     * minimum), sometimes of the maximum or any size; one byte in eight is 0, 1, -1, 0x7F or 0x80.
     */
    static Generator<byte[]> bytes(int minSize, int maxSize) {
        byte[] edges = {0, 1, -1, 0x7F, (byte) 0x80};
        return random -> {
            int pick = random.nextInt(8);
            int size = pick == 0 ? maxSize
                    : pick == 1 ? minSize + random.nextInt(maxSize - minSize + 1)
                    : minSize + random.nextInt(Math.min(16, maxSize - minSize) + 1);
            byte[] b = new byte[size];
            for (int i = 0; i < size; i++) {
                b[i] = random.nextInt(8) == 0 ? edges[random.nextInt(edges.length)] : (byte) random.nextInt();
            }
            return b;
        };
    }

    /** Lists of {@code minSize} … {@code maxSize} elements. */
    static <T> Generator<List<T>> lists(Generator<T> element, int minSize, int maxSize) {
        return random -> {
            int size = minSize + random.nextInt(maxSize - minSize + 1);
            List<T> list = new ArrayList<>(size);
            for (int i = 0; i < size; i++) {
                list.add(element.next(random));
            }
            return list;
        };
    }
}
