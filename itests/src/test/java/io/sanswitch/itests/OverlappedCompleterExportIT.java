package io.sanswitch.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;

/**
 * {@code Overlapped}'s completing side ({@code io.sanswitch.spi.completion}) is wired only to a
 * bundle that imports it with the mandatory attribute {@code sanswitch.friend=engine}: Felix
 * refuses any other import of it, so a bundle that imports the api cannot complete an operation.
 * The core bundle (the engine) is wired to it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OverlappedCompleterExportIT {
    private static final String COMPLETION = "io.sanswitch.spi.completion";

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FelixOptions.with();
    }

    @Test
    public void aBundleImportingTheCompletingSideWithoutTheAttributeDoesNotResolve() throws Exception {
        Bundle stranger = install("stranger", COMPLETION);
        try {
            stranger.start();
            fail("a plain import of " + COMPLETION + " was wired");
        } catch (BundleException e) {
            assertEquals(e.toString(), BundleException.RESOLVE_ERROR, e.getType());
            assertTrue(e.getMessage(), e.getMessage().contains(COMPLETION));
        } finally {
            stranger.uninstall();
        }
    }

    @Test
    public void theSameImportWithTheAttributeResolves() throws Exception {
        Bundle friend = install("friend", COMPLETION + ";sanswitch.friend=engine");
        try {
            friend.start();
            assertEquals(Bundle.ACTIVE, friend.getState());
        } finally {
            friend.uninstall();
        }
    }

    @Test
    public void theEngineIsWiredToTheCompletingSide() {
        Bundle core = null;
        for (Bundle b : context.getBundles()) {
            if ("io.sanswitch.core".equals(b.getSymbolicName())) {
                core = b;
            }
        }
        assertEquals(Bundle.ACTIVE, core.getState());
        boolean wired = false;
        for (BundleWire w : core.adapt(BundleWiring.class).getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE)) {
            wired |= COMPLETION.equals(w.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE));
        }
        assertTrue("the core bundle imports " + COMPLETION, wired);
    }

    /** A bundle with no classes, only the import under test. */
    private Bundle install(String name, String importPackage) throws IOException, BundleException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "io.sanswitch.itests." + name);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Import-Package", importPackage);
        ByteArrayOutputStream jar = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(jar, m)) {
            out.flush();
        }
        return context.installBundle("memory:" + name, new ByteArrayInputStream(jar.toByteArray()));
    }
}
