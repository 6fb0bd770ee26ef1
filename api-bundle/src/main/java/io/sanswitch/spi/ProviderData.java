package io.sanswitch.spi;

import java.util.Objects;

/**
 * What {@code startupEx} fills in: the Java form of {@code WSPDATA} (docs/rules.md ST-version).
 *
 * @param version the version the switch is to use: the smaller of the requested and
 *     {@code highVersion}
 * @param highVersion the highest version this provider supports
 * @param description at most 255 characters ({@code WSPDESCRIPTION_LEN})
 */
public record ProviderData(WinsockVersion version, WinsockVersion highVersion, String description) {
    public static final int DESCRIPTION_MAX_LENGTH = 255;

    public ProviderData {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(highVersion, "highVersion");
        Objects.requireNonNull(description, "description");
        if (description.length() > DESCRIPTION_MAX_LENGTH) {
            description = description.substring(0, DESCRIPTION_MAX_LENGTH);
        }
    }
}
