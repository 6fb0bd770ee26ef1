package io.sanswitch.conformance;

import java.util.Arrays;

/**
 * A socket option a backend keeps (docs/rules.md NS-options), as the kit checks it: after a
 * {@code setSockOpt} of {@code sets[i]}, {@code getSockOpt} answers {@code reads[i]}. An option a
 * set changes reads back what was set; one the backend answers with a fixed value (accepting a set
 * so a switch's replay of the application's options does not fail) reads that value after every set.
 * A size the kernel may round up ({@code SO_RCVBUF}, {@code SO_SNDBUF}: Linux doubles it) reads at
 * least what was set, and more after a larger set ({@code atLeast}).
 */
public record KeptOption(String name, int level, int option, int[] sets, int[] reads, boolean atLeast) {

    public KeptOption {
        if (sets.length == 0 || sets.length != reads.length) {
            throw new IllegalArgumentException(name + ": one read per set, at least one set");
        }
        sets = sets.clone();
        reads = reads.clone();
    }

    public KeptOption(String name, int level, int option, int[] sets, int[] reads) {
        this(name, level, option, sets, reads, false);
    }

    /**
     * An option each of {@code values} round-trips through. Give at least two different values in a
     * row, so that a set the backend ignores cannot pass.
     */
    public static KeptOption settable(String name, int level, int option, int... values) {
        if (Arrays.stream(values).distinct().count() < 2) {
            throw new IllegalArgumentException(name + ": a round trip needs two different values");
        }
        return new KeptOption(name, level, option, values, values);
    }

    /** An option the backend answers with {@code value} whatever {@code tried} sets (each accepted). */
    public static KeptOption fixed(String name, int level, int option, int value, int... tried) {
        int[] reads = new int[tried.length];
        Arrays.fill(reads, value);
        return new KeptOption(name, level, option, tried, reads);
    }

    /**
     * A buffer size the backend hands to the kernel: after each of {@code values} it reads at least
     * that value, and more after a larger value than after a smaller one (so an ignored set fails).
     * Give values below the system's maximum ({@code net.core.rmem_max}), a small and a large one.
     */
    public static KeptOption size(String name, int level, int option, int... values) {
        if (Arrays.stream(values).distinct().count() < 2) {
            throw new IllegalArgumentException(name + ": a size check needs two different values");
        }
        return new KeptOption(name, level, option, values, values, true);
    }

    boolean is(int level, int option) {
        return this.level == level && this.option == option;
    }

    @Override
    public String toString() {
        return name + " sets " + Arrays.toString(sets) + " reads " + (atLeast ? "at least " : "") + Arrays.toString(reads);
    }
}
