/**
 * Reading configuration (ConfigAdmin properties) of sanswitch's components by one rule: a value is
 * checked against what its property allows; a bad one is one log line and never an exception, and
 * the component goes on with its last good value or the default. Shared here because the PIDs
 * live in different bundles, which can share only exported code.
 */
@Export
@Version("1.0.0")
package io.sanswitch.config;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
