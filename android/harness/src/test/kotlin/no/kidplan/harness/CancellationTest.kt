package no.kidplan.harness

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import no.kidplan.core.ChangeListener
import no.kidplan.core.Collection
import no.kidplan.core.Kidplan
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/**
 * Cancelling the coroutine awaiting a sync stops the core's work at its next await point: the
 * server sees no further page request, a page already applied stays (each page is one
 * transaction), nothing more is written, and the next sync completes the cache.
 *
 * The server delays every sync page ([PAGE_DELAY_MS], its test-only fault layer), so a sync of
 * the demo data takes several pages' worth of delays and the cancel lands between pages.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CancellationTest {
    private val server = ServerProcess(
        extraArgs = listOf("--fault-delay", "/v1/sync=$PAGE_DELAY_MS"),
        logRequests = true,
    ).start()

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

    private fun syncPagesAnswered() = server.answered.count { it == "/v1/sync" }

    @Test
    fun `cancelling a sync stops further page requests and keeps the applied pages`(): Unit = runBlocking {
        val reference = Device(server.baseUrl).use { ref ->
            server.login(ref)
            val before = syncPagesAnswered()
            val report = ref.session.sync()
            assertTrue(report.pages >= 3u, "the demo sync needs several pages: $report")
            assertEquals(before + report.pages.toInt(), syncPagesAnswered(), "one request per page")
            ref.core.snapshot()
        }
        assertEquals(Demo.CHILD_NAMES, (reference["children"] as List<*>).map { (it as Pair<*, *>).second as String }.sorted())

        Device(server.baseUrl).use { d ->
            server.login(d)
            val firstPage = CompletableDeferred<Unit>()
            val subscription = d.core.subscribe(object : ChangeListener {
                override fun onChange(collections: List<Collection>) {
                    if (Collection.CHILDREN in collections) firstPage.complete(Unit)
                }
            })
            val job = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) { d.session.sync() }
            withTimeout(30_000) { firstPage.await() }
            job.cancelAndJoin()
            val answeredAtCancel = syncPagesAnswered()
            val atCancel = d.core.snapshot()

            // Long enough for an uncancelled sync to fetch several more pages.
            delay(4 * PAGE_DELAY_MS)
            // At most the page request already in flight when the caller cancelled.
            val later = syncPagesAnswered() - answeredAtCancel
            assertTrue(later <= 1, "the server answered $later more sync pages after the cancel")
            assertEquals(atCancel, d.core.snapshot(), "the core went on writing after the cancel")
            // The applied page stays; the rest is missing.
            assertTrue((atCancel["children"] as List<*>).isNotEmpty(), "the first page was lost: $atCancel")
            assertNotEquals(reference, atCancel, "the sync was complete before the cancel")

            // The next sync completes the cache.
            val report = d.session.sync()
            assertEquals(0u, report.pending)
            assertEquals(reference, d.core.snapshot())
            assertEquals(0u, d.session.sync().applied)
            subscription.close()
        }
    }

    private companion object {
        const val PAGE_DELAY_MS = 400L
    }
}
