package no.kidplan.harness

import java.time.LocalDate
import kotlinx.coroutines.runBlocking
import no.kidplan.core.KidplanException
import no.kidplan.core.LocalState
import no.kidplan.core.OutboxKind
import no.kidplan.core.OutboxStatus
import no.kidplan.core.AbsenceReport
import no.kidplan.core.api.AbsenceReason
import no.kidplan.core.api.AbsenceStatus
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** An absence reported while the server is down is queued, shown, and sent when it is back. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OfflineAbsenceTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    @Test
    fun `offline absence is pending, then sent by sync when the server is back`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            val before = d.core.absences(Demo.JAKOB_ID).size

            server.stop()
            val first = LocalDate.now().plusDays(3)
            val id = d.session.call { reportAbsence(AbsenceReport(Demo.JAKOB_ID, first, first.plusDays(1), AbsenceReason.SICK, "Feber")) }

            // Shown at once, pending, and queued in the outbox.
            val shown = d.core.absences(Demo.JAKOB_ID).single { it.absence.id == id }
            assertEquals(LocalState.Pending, shown.local)
            assertEquals(first, shown.absence.firstDay)
            assertEquals(first.plusDays(1), shown.absence.lastDay)
            assertEquals("Feber", shown.absence.note)
            val queued = d.core.outbox().single()
            assertEquals(OutboxKind.REPORT_ABSENCE, queued.kind)
            assertEquals(id, queued.entityId)
            assertEquals(OutboxStatus.Pending, queued.status)
            assertEquals(1u, d.core.syncStatus().pendingOutbox)
            d.session.outbox.await { it.singleOrNull()?.status == OutboxStatus.Pending }

            // Sync while the server is down: Offline, nothing lost.
            assertThrows<KidplanException.Offline> { runBlocking { d.session.sync() } }
            assertEquals(OutboxStatus.Pending, d.core.outbox().single().status)

            server.start() // same port, same database
            d.session.sync()
            val sent = d.core.outbox().single()
            assertEquals(id, sent.entityId)
            assertEquals(OutboxStatus.Sent, sent.status)
            assertEquals(0u, d.core.syncStatus().pendingOutbox)
            val synced = d.core.absences(Demo.JAKOB_ID).single { it.absence.id == id }
            assertEquals(LocalState.Synced, synced.local)
            assertEquals(AbsenceStatus.REPORTED, synced.absence.status)
            assertEquals(before + 1, d.core.absences(Demo.JAKOB_ID).size)
            d.session.outbox.await { it.singleOrNull()?.status == OutboxStatus.Sent }

            // The server has it: a second device of the same guardian sees it after its sync.
            Device(server.baseUrl).use { other ->
                server.login(other)
                other.session.sync()
                val seen = other.core.absences(Demo.JAKOB_ID).single { it.absence.id == id }
                assertEquals("Feber", seen.absence.note)
                assertEquals(Demo.GUARDIAN_ID, seen.absence.reportedBy)
            }
        }
    }
}
