/**
 * An application bundle on the switch: {@link io.sanswitch.example.EchoExample}, the README's example.
 * Exported only so that the integration test can read the example's outcome.
 */
@Export
@Version("1.0.0")
package io.sanswitch.example;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
