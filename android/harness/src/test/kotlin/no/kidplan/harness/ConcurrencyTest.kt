package no.kidplan.harness

import java.time.LocalDate
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import no.kidplan.core.KidplanException
import no.kidplan.core.AbsenceReport
import no.kidplan.core.api.AbsenceReason
import no.kidplan.core.ffi.kidplanVersion
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/** Many coroutines on many threads calling one core object at once. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrencyTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    @Test
    fun `1000 concurrent calls from coroutines all answer correctly`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            val threadCount = d.core.threads().size
            // A listener too, so callbacks into the JVM run while the calls are in flight.
            val heard = AtomicInteger()
            val sub = d.core.subscribe(object : no.kidplan.core.ChangeListener {
                override fun onChange(collections: List<no.kidplan.core.Collection>) {
                    heard.incrementAndGet()
                }
            })
            val today = LocalDate.now()
            val names = Demo.CHILD_NAMES
            val results = withTimeout(120_000) {
                (0 until 1000).map { i ->
                    async(Dispatchers.IO) {
                        when (i % 8) {
                            0 -> d.session.sync().pending.toInt().let { "sync" }
                            1 -> d.core.children().map { "${it.firstName} ${it.lastName}" }.sorted()
                                .also { assertEquals(names, it) }.let { "children" }
                            2 -> d.core.threads().size.also { assertEquals(threadCount, it) }.let { "threads" }
                            3 -> try {
                                d.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, today.plusDays(2), today.plusDays(1), AbsenceReason.SICK)) }
                                "accepted?!"
                            } catch (e: KidplanException.InvalidInput) {
                                e.field
                            }
                            4 -> d.core.logEntries(Demo.JAKOB_ID, null, 20u).size.also { assertTrue(it > 0) }.let { "log" }
                            5 -> d.core.syncStatus().let { "status" }
                            6 -> kidplanVersion().let { "version" }
                            else -> d.core.outbox().size.also { assertEquals(0, it) }.let { "outbox" }
                        }
                    }
                }.awaitAll()
            }
            assertEquals(1000, results.size)
            assertEquals(125, results.count { it == "sync" })
            assertEquals(125, results.count { it == "last_day" })
            assertEquals(125, results.count { it == "children" })
            assertEquals(0, results.count { it == "accepted?!" })
            sub.close()
            // The core is intact afterwards.
            assertEquals(0u, d.session.sync().applied)
            assertEquals(names, d.core.children().map { "${it.firstName} ${it.lastName}" }.sorted())
            assertTrue(d.core.outbox().isEmpty())
        }
    }
}
