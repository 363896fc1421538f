package no.kidplan.harness

import java.io.File
import java.util.Collections
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import no.kidplan.KidplanShell
import no.kidplan.core.SmokeException
import no.kidplan.core.SmokeListener
import no.kidplan.core.coreVersion
import no.kidplan.core.describe
import no.kidplan.core.notifyFromRuntime
import no.kidplan.core.parseCount
import no.kidplan.core.parseCountAsync
import no.kidplan.core.pingAsync
import no.kidplan.core.runtimeThreadNameAsync
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Exercises the placeholder FFI surface (bindings/src/smoke.rs) through JNA. */
class SmokeTest {
    /** The workspace version from the root Cargo.toml, to compare with what the library reports. */
    private fun workspaceVersion(): String {
        val repo = System.getProperty("kidplan.repo.dir") ?: error("kidplan.repo.dir not set")
        val toml = File(repo, "Cargo.toml").readText()
        val section = toml.substringAfter("[workspace.package]")
        return Regex("""(?m)^version\s*=\s*"([^"]+)"""").find(section)!!.groupValues[1]
    }

    @Test
    fun syncCallReturnsTheCrateVersion() {
        assertEquals(workspaceVersion(), coreVersion())
        assertEquals(coreVersion(), KidplanShell.coreVersion())
    }

    @Test
    fun suspendCallFromRunBlocking() = runBlocking {
        assertEquals(25uL, pingAsync(25uL))
        assertTrue(KidplanShell.ping(20) >= 20)
    }

    @Test
    fun asyncWorkRunsOnTheLibraryRuntime() = runBlocking {
        val name = runtimeThreadNameAsync()
        assertTrue(name.startsWith("kidplan-rt"), name)
    }

    @Test
    fun errorsMapToTypedExceptions() {
        assertEquals(42u, parseCount("42"))
        val invalid = assertThrows<SmokeException.InvalidInput> { parseCount("forty-two") }
        assertEquals("count", invalid.field)
        val limited = assertThrows<SmokeException.RateLimited> { parseCount("250") }
        assertEquals(250u, limited.retryAfterS)
    }

    @Test
    fun asyncErrorsMapToTypedExceptions() = runBlocking {
        assertEquals(7u, parseCountAsync("7"))
        val limited = assertThrows<SmokeException.RateLimited> { runBlocking { parseCountAsync("101") } }
        assertEquals(101u, limited.retryAfterS)
    }

    private class RecordingListener : SmokeListener {
        val changes: MutableList<List<String>> = Collections.synchronizedList(mutableListOf())
        val threads: MutableSet<String> = Collections.synchronizedSet(mutableSetOf())

        override fun onChange(collections: List<String>) {
            threads.add(Thread.currentThread().name)
            changes.add(collections)
        }

        override fun label(id: ULong): String = "kotlin-$id"
    }

    @Test
    fun foreignTraitIsCalledFromRust() = runBlocking {
        val listener = RecordingListener()
        assertEquals("[kotlin-9]", describe(listener, 9uL))

        assertEquals(50u, notifyFromRuntime(listener, 50u))
        assertEquals(50, listener.changes.size)
        assertEquals(listOf("children", "change-49"), listener.changes.last())
        // Called back on a Rust runtime worker, not on the calling coroutine's thread.
        assertTrue(Thread.currentThread().name !in listener.threads, listener.threads.toString())
    }

    @Test
    fun thousandConcurrentCoroutineCalls() = runBlocking(Dispatchers.Default) {
        val results = (0 until 1000).map { i ->
            async { pingAsync((i % 10).toULong()) }
        }.awaitAll()
        assertEquals((0 until 1000).map { (it % 10).toULong() }, results)
    }
}
