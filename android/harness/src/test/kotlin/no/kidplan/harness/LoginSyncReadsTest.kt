package no.kidplan.harness

import kotlinx.coroutines.runBlocking
import no.kidplan.core.KidplanException
import no.kidplan.core.LocalState
import no.kidplan.core.api.Role
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** Login, sync and the cache reads, through the generated bindings, against a real server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoginSyncReadsTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    @Test
    fun `login with the code from the server's outbox`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            assertNull(d.core.activeAccount())
            val account = server.login(d)
            assertEquals(Role.GUARDIAN, account.role)
            assertEquals(Demo.GUARDIAN_ID, account.personId)
            assertEquals(Demo.KINDERGARTEN_ID, account.kindergartenId)
            assertEquals(Demo.KINDERGARTEN_NAME, account.kindergartenName)
            assertEquals(listOf(account), d.core.accounts())
            assertEquals(account, d.core.activeAccount())
            // The session's secrets went through the Kotlin SecretStore (foreign trait).
            val keys = d.vault.keys()
            assertTrue("kidplan.${account.id}.refresh" in keys, "$keys")
            assertTrue("kidplan.${account.id}.db_key" in keys, "$keys")
            // A used code does not work twice.
            val e = assertThrows<KidplanException.InvalidInput> {
                runBlocking { d.session.verifyLoginCode(Demo.GUARDIAN_EMAIL, server.loginCode(Demo.GUARDIAN_EMAIL)) }
            }
            assertEquals("code", e.field)
        }
    }

    @Test
    fun `sync fills the cache with the demo guardian's data and only hers`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            val report = d.session.sync()
            assertTrue(report.applied > 0u, "$report")
            assertEquals(0u, report.pending)

            val children = d.core.children()
            assertEquals(Demo.CHILD_NAMES, children.map { "${it.firstName} ${it.lastName}" }.sorted())
            assertEquals(setOf(Demo.EMMA_ID, Demo.JAKOB_ID), children.map { it.id }.toSet())
            assertTrue(children.all { it.kindergartenId == Demo.KINDERGARTEN_ID })

            val me = d.core.me()!!
            assertEquals("Kari" to "Nordmann", me.firstName to me.lastName)
            assertEquals(Demo.GUARDIAN_EMAIL, me.email)
            // Emma's other guardian is visible by name only, without contact fields.
            val other = d.core.guardians().single { it.id == Demo.CANARY_GUARDIAN_ID }
            assertNull(other.email)
            assertNull(other.phone)
            assertTrue(d.core.guardianRelations().none { it.childId == Demo.CANARY_CHILD_ID })

            val threads = d.core.threads()
            assertTrue(threads.any { it.thread.id == Demo.CANARY_THREAD_ID }, "${threads.map { it.thread.id }}")
            assertTrue(threads.all { it.local == LocalState.Synced })
            val messages = d.core.messages(Demo.CANARY_THREAD_ID, null, 50u)
            assertTrue(messages.isNotEmpty())

            val log = d.core.logEntries(Demo.EMMA_ID, null, 1000u)
            assertTrue(log.isNotEmpty())
            assertTrue(log.all { it.childId == Demo.EMMA_ID })
            assertTrue(log.zipWithNext().all { (a, b) -> a.at >= b.at }, "newest first")
            assertTrue(d.core.logEntries(Demo.OTHER_FAMILY_CHILD_ID, null, 100u).isEmpty())

            // Nothing new: one request, nothing applied.
            val again = d.session.sync()
            assertEquals(0u, again.applied, "$again")
            assertEquals(Demo.CHILD_NAMES, d.core.children().map { "${it.firstName} ${it.lastName}" }.sorted())
            assertTrue(d.core.syncStatus().lastSyncedAt != null)
        }
    }

    @Test
    fun `logout removes the account, its cache and its secrets`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            val account = server.login(d)
            d.session.sync()
            assertEquals(2, d.core.children().size)
            d.session.logout()
            assertNull(d.core.activeAccount())
            assertTrue(d.core.children().isEmpty())
            assertTrue(d.vault.keys().none { it.contains(account.id) }, "${d.vault.keys()}")
            assertThrows<KidplanException.SessionExpired> { runBlocking { d.session.sync() } }
        }
    }
}
