/**
 * Test-only stand-ins for the few classes of {@code androidx.test:monitor} that Robolectric loads
 * while it sets up an application and drives activities. That artifact is served by Google's
 * repository only, which this build cannot reach. Each type keeps the name and the members
 * Robolectric 4.16 calls ({@code RoboMonitoringInstrumentation}, {@code AndroidTestEnvironment}),
 * with the simplest behaviour that keeps their contract: registries hold one instance, monitors
 * record what they are told. Nothing of the Kidplan library or the sample app uses them.
 */
package androidx.test;
