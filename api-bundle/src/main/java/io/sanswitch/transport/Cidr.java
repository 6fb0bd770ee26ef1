package io.sanswitch.transport;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * One subnet in CIDR notation: an IPv4 dotted quad ({@code 192.168.10.0/24}) or an IPv6 literal
 * ({@code fd00:5a::/64}) and a prefix length. The one parser of the project for configured and
 * published SAN subnets ({@link TransportProperties#SAN_SUBNETS}).
 *
 * <p>Strict on purpose: {@code 10/8} or {@code 10.0.0/8}, which {@link InetAddress} would read as
 * {@code 0.0.0.10} or {@code 10.0.0.0}, are refused, as are leading zeros (octal to some tools),
 * zone ids, IPv4-mapped IPv6 and host names: parsing never waits for DNS. Host bits below the
 * prefix are cleared ({@code 10.1.2.3/8} is {@code 10.0.0.0/8}).
 */
public final class Cidr {
    /** Longer text is no CIDR (the longest IPv6 literal with an IPv4 tail and /128 has 49 characters). */
    private static final int MAX_TEXT = 64;

    private final byte[] network;
    private final int prefixLength;

    private Cidr(byte[] network, int prefixLength) {
        this.network = network;
        this.prefixLength = prefixLength;
    }

    /**
     * Parses {@code text} (surrounding white space ignored).
     *
     * @throws IllegalArgumentException naming {@code text} and what is wrong with it
     */
    public static Cidr parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("'" + text + "' is no subnet: empty subnet");
        }
        String s = text.strip();
        if (s.length() > MAX_TEXT) {
            throw refused(s.substring(0, MAX_TEXT) + "...", "longer than " + MAX_TEXT + " characters");
        }
        int slash = s.indexOf('/');
        if (slash < 0) {
            throw refused(s, "no prefix length (address/bits)");
        }
        String address = s.substring(0, slash);
        byte[] bytes = address.indexOf(':') < 0 ? ipv4(address, s) : ipv6(address, s);
        int bits = prefixLength(s.substring(slash + 1), bytes.length * 8, s);
        return new Cidr(mask(bytes, bits), bits);
    }

    /**
     * Parses every entry of {@code entries}; an entry may hold several subnets separated by commas
     * or white space (as a {@code .cfg} file carries a list). Refused entries are left out and
     * their {@link IllegalArgumentException} messages handed to {@code refused}; duplicates are
     * dropped.
     */
    public static List<Cidr> parseAll(Iterable<String> entries, Consumer<String> refused) {
        List<Cidr> all = new ArrayList<>();
        if (entries == null) {
            return all;
        }
        for (String entry : entries) {
            if (entry == null) {
                continue;
            }
            for (String part : entry.split("[,\\s]+")) {
                if (part.isEmpty()) {
                    continue;
                }
                try {
                    Cidr c = parse(part);
                    if (!all.contains(c)) {
                        all.add(c);
                    }
                } catch (IllegalArgumentException e) {
                    refused.accept(e.getMessage());
                }
            }
        }
        return all;
    }

    /** The network address, host bits cleared. */
    public InetAddress network() {
        try {
            return InetAddress.getByAddress(network);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes", e);
        }
    }

    public int prefixLength() {
        return prefixLength;
    }

    /** Whether {@code address} is inside this subnet; an address of the other family never is. */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        return a.length == network.length && Arrays.equals(mask(a, prefixLength), network);
    }

    private static byte[] ipv4(String address, String cidr) {
        String[] parts = address.split("\\.", -1);
        if (parts.length != 4) {
            throw refused(cidr, "not an IPv4 address (four decimal parts 0 to 255) nor an IPv6 literal");
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw refused(cidr, "not an IPv4 address (four decimal parts 0 to 255) nor an IPv6 literal");
            }
            if (p.length() > 1 && p.charAt(0) == '0') {
                throw refused(cidr, "'" + p + "' has a leading zero, which some tools read as octal");
            }
            int octet = Integer.parseInt(p);
            if (octet > 255) {
                throw refused(cidr, octet + " is not an octet (0 to 255)");
            }
            bytes[i] = (byte) octet;
        }
        return bytes;
    }

    private static byte[] ipv6(String address, String cidr) {
        // Only hex digits, colons and dots (an IPv4 tail), starting with a hex digit or a colon:
        // InetAddress parses such text as a literal and never asks DNS for it.
        boolean literal = !address.isEmpty()
                && (Character.digit(address.charAt(0), 16) >= 0 || address.charAt(0) == ':');
        for (int i = 0; literal && i < address.length(); i++) {
            char c = address.charAt(i);
            literal = c < 128 && (Character.digit(c, 16) >= 0 || c == ':' || c == '.');
        }
        if (!literal) {
            throw refused(cidr, "not an IPv6 address (hex digits and colons, no zone id)");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(address).getAddress();
        } catch (UnknownHostException e) {
            throw refused(cidr, "not an IPv6 address");
        }
        if (bytes.length != 16) {
            throw refused(cidr, "an IPv4-mapped IPv6 address; write the IPv4 subnet");
        }
        return bytes;
    }

    private static int prefixLength(String bits, int maxBits, String cidr) {
        if (bits.isEmpty() || bits.length() > 3 || !bits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw refused(cidr, "the prefix length must be a number from 0 to " + maxBits);
        }
        int n = Integer.parseInt(bits);
        if (n > maxBits) {
            throw refused(cidr, "the prefix length must be a number from 0 to " + maxBits);
        }
        return n;
    }

    private static IllegalArgumentException refused(String cidr, String why) {
        return new IllegalArgumentException("'" + cidr + "' is no subnet: " + why);
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] out = address.clone();
        for (int i = 0; i < out.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] &= (byte) (0xFF << (8 - bits));
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefixLength == prefixLength && Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefixLength;
    }

    /** The canonical form ({@code 10.0.0.0/8}, {@code fd00:5a:0:0:0:0:0:0/64}), as published. */
    @Override
    public String toString() {
        return network().getHostAddress() + "/" + prefixLength;
    }
}
