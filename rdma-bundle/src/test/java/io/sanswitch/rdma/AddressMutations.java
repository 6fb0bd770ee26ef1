package io.sanswitch.rdma;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Malformed and mutated variants of a valid packed worker address, for the format check. */
final class AddressMutations {
    private AddressMutations() {
    }

    /** Every strict prefix (0 .. n-1 bytes). */
    static List<byte[]> truncations(byte[] valid) {
        List<byte[]> out = new ArrayList<>();
        for (int n = 0; n < valid.length; n++) {
            out.add(Arrays.copyOf(valid, n));
        }
        return out;
    }

    /** Each single bit flipped, in every byte. */
    static List<byte[]> bitFlips(byte[] valid) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < valid.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] m = valid.clone();
                m[i] ^= (byte) (1 << bit);
                out.add(m);
            }
        }
        return out;
    }

    /** Each byte set to 0x00 and to 0xFF (where it differs). */
    static List<byte[]> byteExtremes(byte[] valid) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < valid.length; i++) {
            for (byte v : new byte[] {0, (byte) 0xFF}) {
                if (valid[i] != v) {
                    byte[] m = valid.clone();
                    m[i] = v;
                    out.add(m);
                }
            }
        }
        return out;
    }

    /**
     * Each length field lying: its length bits (the low bits under {@code mask}; the flag bits
     * kept) one more, one less, zero and the maximum, wherever that differs from the truth.
     */
    static List<byte[]> lengthLies(byte[] valid) {
        List<byte[]> out = new ArrayList<>();
        WorkerAddressFormat.lengthFields(valid).forEach((offset, mask) -> {
            int value = valid[offset] & 0xFF;
            int length = value & mask;
            for (int lie : new int[] {length + 1, length - 1, 0, mask}) {
                if (lie >= 0 && lie <= mask && lie != length) {
                    byte[] m = valid.clone();
                    m[offset] = (byte) ((value & ~mask) | lie);
                    out.add(m);
                }
            }
        });
        return out;
    }

    /** A random mutation: bit flips, overwritten bytes, cut or inserted runs, or random bytes after a prefix. */
    static byte[] random(byte[] valid, Random rnd) {
        byte[] m = valid.clone();
        switch (rnd.nextInt(6)) {
            case 0 -> {
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                    int i = rnd.nextInt(m.length);
                    m[i] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> {
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) {
                    m[rnd.nextInt(m.length)] = (byte) rnd.nextInt(256);
                }
            }
            case 2 -> {
                int from = rnd.nextInt(m.length);
                int len = 1 + rnd.nextInt(Math.min(16, m.length - from));
                byte[] cut = new byte[m.length - len];
                System.arraycopy(m, 0, cut, 0, from);
                System.arraycopy(m, from + len, cut, from, m.length - from - len);
                m = cut;
            }
            case 3 -> {
                int at = rnd.nextInt(m.length + 1);
                byte[] extra = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(extra);
                byte[] grown = new byte[m.length + extra.length];
                System.arraycopy(m, 0, grown, 0, at);
                System.arraycopy(extra, 0, grown, at, extra.length);
                System.arraycopy(m, at, grown, at + extra.length, m.length - at);
                m = grown;
            }
            case 4 -> {
                // A correct prefix (at least the header), then random bytes up to a random length.
                int prefix = 1 + rnd.nextInt(m.length);
                byte[] r = Arrays.copyOf(m, prefix + rnd.nextInt(2 * m.length));
                for (int i = prefix; i < r.length; i++) {
                    r[i] = (byte) rnd.nextInt(256);
                }
                m = r;
            }
            default -> {
                // A mutated byte in one of the length fields, flags included.
                List<Integer> lengths = new ArrayList<>(WorkerAddressFormat.lengthFields(valid).keySet());
                m[lengths.get(rnd.nextInt(lengths.size()))] = (byte) rnd.nextInt(256);
            }
        }
        return m;
    }
}
