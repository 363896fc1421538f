package no.kidplan.harness

import java.nio.file.Files
import java.time.LocalDate
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import no.kidplan.core.AbsenceReport
import no.kidplan.core.OutboxKind
import no.kidplan.core.OutboxStatus
import no.kidplan.core.api.AbsenceReason
import no.kidplan.core.ffi.kidplanVersion
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/**
 * Many coroutines on many threads calling one core object at once: 375 real writes (absence
 * reports and messages, each with a unique text) among syncs and reads. Each write is then
 * found exactly once on the device (its list, its outbox item, sent) and exactly once on the
 * server (the server's export of the guardian's data).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrencyTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    /** A text unique to write [i], quoted as it appears in JSON. */
    private fun text(i: Int) = "conc-%04d".format(i)

    @Test
    fun `1000 concurrent calls with 375 writes, each written exactly once`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            val thread = d.core.threads().first { !it.thread.broadcast && it.thread.childId == Demo.EMMA_ID }.thread.id
            val children = listOf(Demo.EMMA_ID, Demo.JAKOB_ID)
            val heard = AtomicInteger()
            val sub = d.core.subscribe(object : no.kidplan.core.ChangeListener {
                override fun onChange(collections: List<no.kidplan.core.Collection>) {
                    heard.incrementAndGet()
                }
            })
            val today = LocalDate.now()
            val results: List<Pair<String, String>> = withTimeout(180_000) {
                (0 until 1000).map { i ->
                    async(Dispatchers.IO) {
                        when (i % 8) {
                            0 -> "sync" to d.session.sync().pending.toString()
                            1, 5 -> {
                                val day = today.plusDays(10L + i % 300)
                                val id = d.session.call { reportAbsence(AbsenceReport(children[i % 2], day, day, AbsenceReason.SICK, text(i))) }
                                "absence" to "$id ${text(i)}"
                            }
                            2 -> "children" to d.core.children().size.toString()
                            3 -> "message" to "${d.core.sendMessage(thread, text(i))} ${text(i)}"
                            4 -> "log" to d.core.logEntries(Demo.JAKOB_ID, null, 20u).size.toString()
                            6 -> "version" to kidplanVersion()
                            else -> "outbox" to d.core.outbox().size.toString()
                        }
                    }
                }.awaitAll()
            }
            sub.close()
            assertEquals(1000, results.size)
            assertTrue(results.filter { it.first == "children" }.all { it.second == "2" })
            val absences = results.filter { it.first == "absence" }.map { it.second.split(" ").let { (id, t) -> id to t } }
            val messages = results.filter { it.first == "message" }.map { it.second.split(" ").let { (id, t) -> id to t } }
            assertEquals(250, absences.size)
            assertEquals(125, messages.size)
            assertTrue(heard.get() > 0, "the listener heard nothing")

            // Everything is sent: the outbox has exactly one item per write, each sent.
            var pending = UInt.MAX_VALUE
            for (attempt in 1..20) {
                pending = d.session.sync().pending
                if (pending == 0u) break
            }
            assertEquals(0u, pending, "the outbox did not drain")
            val outbox = d.core.outbox()
            assertTrue(outbox.all { it.status == OutboxStatus.Sent }, "${outbox.filter { it.status != OutboxStatus.Sent }}")
            val byEntity = outbox.groupingBy { it.entityId }.eachCount()
            for ((id, _) in absences + messages) assertEquals(1, byEntity[id], "outbox items for $id")
            assertEquals(absences.size, outbox.count { it.kind == OutboxKind.REPORT_ABSENCE })
            assertEquals(messages.size, outbox.count { it.kind == OutboxKind.SEND_MESSAGE })

            // On the device: each write once, with its text.
            val localAbsences = d.core.absences(null).groupBy { it.absence.id }
            for ((id, t) in absences) {
                assertEquals(1, localAbsences[id]?.size, "absence $id on the device")
                assertEquals(t, localAbsences[id]?.single()?.absence?.note)
            }
            val localMessages = d.core.messages(thread, null, 10_000u).groupBy { it.message.id }
            for ((id, t) in messages) {
                assertEquals(1, localMessages[id]?.size, "message $id on the device")
                assertEquals(t, localMessages[id]?.single()?.message?.body)
            }

            // On the server: its export holds each text exactly once, next to its id.
            val dir = Files.createTempDirectory("kidplan-export-")
            try {
                val export = Files.readString(java.nio.file.Path.of(d.core.exportMyData(dir.toString()).path))
                for ((id, t) in absences + messages) {
                    assertEquals(1, Regex("\"$t\"").findAll(export).count(), "$t on the server")
                    assertTrue(export.contains("\"$id\""), "$id not on the server")
                }
                assertEquals(375, Regex("\"conc-\\d{4}\"").findAll(export).count(), "writes on the server")
            } finally {
                dir.toFile().deleteRecursively()
            }
            // The core is intact afterwards.
            assertEquals(Demo.CHILD_NAMES, d.core.children().map { "${it.firstName} ${it.lastName}" }.sorted())
        }
    }
}
