package io.sanswitch.testing;

import java.util.HashMap;
import java.util.Map;

/** Configuration properties as ConfigAdmin hands them to a component, for the settings tests. */
public final class Configurations {
    private Configurations() {
    }

    /** {@code key, value, key, value, ...} as a map. */
    public static Map<String, Object> props(Object... keyValues) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }
}
