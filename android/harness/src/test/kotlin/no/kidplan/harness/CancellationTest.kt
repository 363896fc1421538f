package no.kidplan.harness

import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import no.kidplan.core.ChangeListener
import no.kidplan.core.Collection
import no.kidplan.core.Kidplan
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/**
 * Cancelling the coroutine awaiting a sync drops the Rust future; the core finishes or stops
 * between transactions, so the cache stays consistent and the next sync completes it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CancellationTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    /** Everything a screen could show, as comparable values. */
    private fun Kidplan.snapshot(): Map<String, Any> = mapOf(
        "children" to children().map { it.id to "${it.firstName} ${it.lastName}" }.sortedBy { it.first },
        "guardians" to guardians().map { it.id }.sorted(),
        "staff" to staff().map { it.id }.sorted(),
        "threads" to threads().map { it.thread.id to it.unreadCount }.sortedBy { it.first },
        "messages" to threads().associate { t -> t.thread.id to messages(t.thread.id, null, 10_000u).size },
        "log" to children().associate { c -> c.id to logEntries(c.id, null, 100_000u).map { it.id }.sorted() },
        "absences" to absences(null).map { it.absence.id }.sorted(),
        "documents" to documents().map { it.id }.sorted(),
        "photos" to photos().map { it.id }.sorted(),
        "outbox" to outbox().size,
    )

    @Test
    fun `cancelling a sync mid-way leaves a consistent cache that the next sync completes`(): Unit = runBlocking {
        val reference = Device(server.baseUrl).use { ref ->
            server.login(ref)
            ref.session.sync()
            ref.core.snapshot()
        }
        assertEquals(Demo.CHILD_NAMES, (reference["children"] as List<*>).map { (it as Pair<*, *>).second as String }.sorted())

        // Cancel at the first applied page, then after a few fixed delays (before, during, after).
        // One device and one login (the server allows 5 codes per contact per 10 minutes):
        // resetLocalCache() starts each round from an empty cache with the same session.
        Device(server.baseUrl).use { d ->
            server.login(d)
            val firstPage = AtomicReference(CompletableDeferred<Unit>())
            val subscription = d.core.subscribe(object : ChangeListener {
                override fun onChange(collections: List<Collection>) {
                    if (Collection.CHILD_LOG in collections || Collection.CHILDREN in collections) {
                        firstPage.get().complete(Unit)
                    }
                }
            })
            for (cancelAfterMs in listOf<Long?>(null, 0, 2, 10, 40)) {
                d.core.resetLocalCache()
                assertTrue(d.core.children().isEmpty())
                firstPage.set(CompletableDeferred())
                var finished = false
                val job = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                    d.session.sync()
                    finished = true
                }
                if (cancelAfterMs == null) withTimeoutOrNull(10_000) { firstPage.get().await() } else delay(cancelAfterMs)
                job.cancelAndJoin()
                assertTrue(job.isCancelled || finished)

                // Reads work right away, whatever the core had applied when the caller gave up.
                val partial = d.core.snapshot()
                assertTrue((partial["children"] as List<*>).size <= 2, "$partial")

                val report = d.session.sync()
                assertEquals(0u, report.pending)
                assertEquals(reference, d.core.snapshot(), "after cancelling at ${cancelAfterMs ?: "first page"}")
                assertEquals(0u, d.session.sync().applied)
            }
            subscription.close()
        }
    }
}
