package no.kidplan

import no.kidplan.core.pingAsync

/**
 * Placeholder for the platform-neutral Kotlin shell over the generated bindings.
 * Compiled by the Android module and by the JVM harness (android/harness); no Android APIs here.
 * Replace with the real shell once the core's `Kidplan` object is exported.
 */
object KidplanShell {
    /** Version of the Rust core this shell is bound to. */
    fun coreVersion(): String = no.kidplan.core.coreVersion()

    /** Round trip through the core's async runtime; returns the round trip's measured milliseconds. */
    suspend fun ping(delayMs: Long = 0): Long {
        val start = System.nanoTime()
        pingAsync(delayMs.toULong())
        return (System.nanoTime() - start) / 1_000_000
    }
}
