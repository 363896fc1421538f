package no.kidplan.harness

import java.time.LocalDate
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import no.kidplan.core.ChangeListener
import no.kidplan.core.Collection
import no.kidplan.core.LocalState
import no.kidplan.core.OutboxStatus
import no.kidplan.core.AbsenceReport
import no.kidplan.core.api.AbsenceReason
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/** The core's ChangeListener (a Kotlin object called from core threads) drives the shell's flows. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlowsTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    @Test
    fun `listener and state flows follow login, sync and a local action`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            val heard = CopyOnWriteArrayList<Pair<Set<Collection>, String>>()
            val handle = d.core.subscribe(object : ChangeListener {
                override fun onChange(collections: List<Collection>) {
                    heard += collections.toSet() to Thread.currentThread().name
                }
            })
            assertEquals(emptyList<Any>(), d.session.children.value)
            assertEquals(null, d.session.account.value)

            val account = server.login(d)
            assertEquals(account, d.session.account.await { it != null })
            assertTrue(heard.any { Collection.ACCOUNT in it.first }, "$heard")

            d.session.sync()
            val children = d.session.children.await { it.size == 2 }
            assertEquals(Demo.CHILD_NAMES, children.map { "${it.firstName} ${it.lastName}" }.sorted())
            val threads = d.session.threads.await { it.isNotEmpty() }
            assertTrue(threads.any { it.thread.id == Demo.CANARY_THREAD_ID })
            assertTrue(heard.any { Collection.CHILDREN in it.first }, "$heard")
            // Network calls notify from the core's own runtime threads, not the caller's.
            val caller = Thread.currentThread().name
            assertTrue(heard.none { it.second == caller }, "$caller in ${heard.map { it.second }.toSet()}")

            // A local action: changes() hears it, the absences and outbox flows show it.
            val change = async(Dispatchers.Default) {
                withTimeout(10_000) { d.session.changes(Collection.ABSENCES).first() }
            }
            Thread.sleep(300) // let the collector subscribe before acting
            val day = LocalDate.now().plusDays(10)
            val id = d.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, day, day, AbsenceReason.APPOINTMENT)) }
            assertTrue(Collection.ABSENCES in change.await())
            val view = d.session.absences.await { list -> list.any { it.absence.id == id } }
                .single { it.absence.id == id }
            assertEquals(Demo.EMMA_ID, view.absence.childId)
            d.session.outbox.await { list -> list.any { it.entityId == id } }

            d.session.sync()
            d.session.outbox.await { list -> list.single { it.entityId == id }.status == OutboxStatus.Sent }
            d.session.absences.await { list -> list.single { it.absence.id == id }.local == LocalState.Synced }

            // A custom observation: the messages of one thread, re-read when messages change.
            val counts = Channel<Int>(Channel.UNLIMITED)
            val observer = launch(Dispatchers.Default) {
                d.session.observe(Collection.MESSAGES) { messages(Demo.CANARY_THREAD_ID, null, 100u).size }
                    .collect { counts.send(it) }
            }
            // The first value is read after the observer subscribed, so the send below is seen.
            val beforeSend = withTimeout(10_000) { counts.receive() }
            assertTrue(beforeSend > 0)
            d.session.call { sendMessage(Demo.CANARY_THREAD_ID, "Takk for beskjed!") }
            assertEquals(beforeSend + 1, withTimeout(10_000) { counts.receive() })
            observer.cancel()

            // Unsubscribed listeners hear nothing more.
            handle.close()
            val n = heard.size
            d.session.sync()
            assertEquals(n, heard.size)
        }
    }
}
