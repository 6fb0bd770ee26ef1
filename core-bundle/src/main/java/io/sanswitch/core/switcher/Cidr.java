package io.sanswitch.core.switcher;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** One subnet in CIDR notation ("10.1.0.0/16"), IPv4 or IPv6; matches addresses of its family. */
record Cidr(byte[] network, int prefix) {

    /**
     * @throws IllegalArgumentException for anything that is not {@code address/prefix}
     */
    static Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("no subnet");
        }
        String s = text.strip();
        int slash = s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1) {
            throw new IllegalArgumentException("not a CIDR (address/prefix): '" + text + "'");
        }
        String host = s.substring(0, slash);
        // Only literals: a host name here would be resolved through DNS, and CIDRs name no hosts.
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            throw new IllegalArgumentException("not an IP literal: '" + text + "'");
        }
        byte[] address;
        int prefix;
        try {
            address = InetAddress.getByName(host).getAddress();
            prefix = Integer.parseInt(s.substring(slash + 1));
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException("not a CIDR: '" + text + "'", e);
        }
        if (prefix < 0 || prefix > address.length * 8) {
            throw new IllegalArgumentException("prefix out of range: '" + text + "'");
        }
        return new Cidr(mask(address, prefix), prefix);
    }

    /** Parses every entry (an entry may hold several, comma or space separated); returns the bad ones in {@code rejected}. */
    static List<Cidr> parseAll(Iterable<String> entries, List<String> rejected) {
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
                    all.add(parse(part));
                } catch (IllegalArgumentException e) {
                    rejected.add(part);
                }
            }
        }
        return all;
    }

    boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        return a.length == network.length && java.util.Arrays.equals(mask(a, prefix), network);
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
        return o instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(network) * 31 + prefix;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            return "?/" + prefix;
        }
    }
}
