package io.sanswitch.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ops4j.pax.exam.Option;

/**
 * The Felix container the integration tests share: SCR with its runtime companions, ConfigAdmin,
 * slf4j, and the reactor's bundles by path (docs/toolchain.md TC-4: the jars of this build, never a stale
 * SNAPSHOT from the local repository).
 */
final class FelixOptions {
    private FelixOptions() {
    }

    /** The reactor's bundle named {@code key} in failsafe's system properties. */
    static Option reactorBundle(String key) {
        return bundle("reference:file:" + System.getProperty("sanswitch.bundle." + key));
    }

    /** The framework with SCR, ConfigAdmin and the api, core and tcp bundles, plus {@code extra}. */
    static Option[] with(Option... extra) {
        List<Option> all = new ArrayList<>(List.of(
                junitBundles(),
                mavenBundle("org.apache.felix", "org.apache.felix.configadmin", "1.9.26"),
                mavenBundle("org.apache.felix", "org.apache.felix.scr", "2.2.12"),
                mavenBundle("org.osgi", "org.osgi.service.component", "1.5.1"),
                mavenBundle("org.osgi", "org.osgi.util.promise", "1.3.0"),
                mavenBundle("org.osgi", "org.osgi.util.function", "1.2.0"),
                // slf4j 1.7 API bundle: 2.x would need a ServiceLoader mediator; our bundles accept both.
                mavenBundle("org.slf4j", "slf4j-api", "1.7.36"),
                mavenBundle("org.slf4j", "slf4j-simple", "1.7.36").noStart(),
                reactorBundle("api"),
                reactorBundle("core"),
                reactorBundle("tcp"),
                systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"),
                cleanCaches()));
        // pax-url ignores -Dmaven.repo.local (docs/toolchain.md TC-6); an empty value would make it use the
        // working directory as the local repository.
        String localRepository = System.getProperty("org.ops4j.pax.url.mvn.localRepository", "");
        if (!localRepository.isEmpty()) {
            all.add(systemProperty("org.ops4j.pax.url.mvn.localRepository").value(localRepository));
        }
        all.addAll(Arrays.asList(extra));
        return all.toArray(new Option[0]);
    }
}
