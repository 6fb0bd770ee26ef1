package io.sanswitch.spi;

/**
 * A Winsock version as (major, minor). The wire form is one 16-bit word with the major number in
 * the low byte and the minor in the high byte (2.2 is {@code 0x0202}, 3.0 is {@code 0x0003}).
 * Versions are compared as (major, minor) pairs, never as raw words (docs/rules.md ST-version: 3.0 is numerically
 * smaller than 2.2 as a word, yet newer).
 */
public record WinsockVersion(int major, int minor) implements Comparable<WinsockVersion> {

    /** Winsock 2.2, the lowest version that carries the SAN extensions. */
    public static final WinsockVersion V2_2 = new WinsockVersion(2, 2);

    public WinsockVersion {
        if (major < 0 || major > 0xFF || minor < 0 || minor > 0xFF) {
            throw new IllegalArgumentException("major and minor must be 0..255: " + major + "." + minor);
        }
    }

    /** Reads a version word: low byte major, high byte minor. */
    public static WinsockVersion fromWord(int word) {
        if ((word & ~0xFFFF) != 0) {
            throw new IllegalArgumentException("a version word has 16 bits: 0x" + Integer.toHexString(word));
        }
        return new WinsockVersion(word & 0xFF, (word >>> 8) & 0xFF);
    }

    /** The 16-bit version word: low byte major, high byte minor. */
    public int toWord() {
        return (minor << 8) | major;
    }

    @Override
    public int compareTo(WinsockVersion other) {
        int byMajor = Integer.compare(major, other.major);
        return byMajor != 0 ? byMajor : Integer.compare(minor, other.minor);
    }

    public boolean isBelow(WinsockVersion other) {
        return compareTo(other) < 0;
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
