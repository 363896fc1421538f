package no.kidplan.harness

import java.nio.file.Files
import java.time.LocalDate
import kotlinx.coroutines.runBlocking
import no.kidplan.InMemorySecretVault
import no.kidplan.SecretVault
import no.kidplan.asSecretStore
import no.kidplan.core.Kidplan
import no.kidplan.core.KidplanException
import no.kidplan.core.AbsenceReport
import no.kidplan.core.api.AbsenceReason
import no.kidplan.core.ffi.kidplanVersion
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** Bad input from the shell comes back as the typed KidplanException, never as a crash. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ErrorMappingTest {
    private val server = ServerProcess().start()
    private lateinit var d: Device

    @BeforeAll
    fun login() = runBlocking {
        d = Device(server.baseUrl)
        server.login(d)
        d.session.sync()
        Unit
    }

    @AfterAll
    fun stop() {
        d.close()
        server.close()
    }

    private val today: LocalDate = LocalDate.now()

    private inline fun <reified E : Throwable> fails(noinline block: suspend () -> Unit): E =
        assertThrows<E> { runBlocking { block() } }

    @Test
    fun `invalid input names the field`() {
        val e = fails<KidplanException.InvalidInput> {
            d.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, today.plusDays(5), today.plusDays(4), AbsenceReason.SICK)) }
        }
        assertEquals("last_day", e.field)
        assertEquals("field=last_day", e.message)
        assertEquals("body", fails<KidplanException.InvalidInput> {
            d.session.call { sendMessage(Demo.CANARY_THREAD_ID, "   ") }
        }.field)
        assertEquals("contact", fails<KidplanException.InvalidInput> { d.session.requestLoginCode("") }.field)
        assertEquals("to", fails<KidplanException.InvalidInput> {
            d.session.call { calendarEvents(today, today.minusDays(1)) }
        }.field)
        // Nothing was queued by the refused calls.
        assertTrue(d.core.outbox().isEmpty(), "${d.core.outbox()}")
    }

    @Test
    fun `unknown and foreign ids are refused`() {
        assertEquals("child_id", fails<KidplanException.InvalidInput> {
            d.session.call { reportAbsence(AbsenceReport("no-such-child", today, today, AbsenceReason.SICK)) }
        }.field)
        // Another family's child is as unknown as a made-up one.
        assertEquals("child_id", fails<KidplanException.InvalidInput> {
            d.session.call { reportAbsence(AbsenceReport(Demo.OTHER_FAMILY_CHILD_ID, today, today, AbsenceReason.SICK)) }
        }.field)
        fails<KidplanException> { d.session.call { sendMessage("no-such-thread", "Hei") } }
        fails<KidplanException.NotFound> { d.session.call { switchAccount("0".repeat(32)) } }
        assertTrue(d.core.outbox().isEmpty(), "${d.core.outbox()}")
        assertTrue(d.core.logEntries("no-such-child", null, 10u).isEmpty())
    }

    @Test
    fun `a date the core cannot take is invalid input naming the field, not a crash`() {
        // A LocalDate beyond what the core's calendar holds, and one beyond the years the
        // contract accepts: both are InvalidInput naming the field (never uniffi's internal error).
        val huge = LocalDate.of(300_000, 1, 1)
        assertEquals("first_day", fails<KidplanException.InvalidInput> {
            d.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, huge, huge, AbsenceReason.SICK)) }
        }.field)
        val far = LocalDate.of(9999, 12, 31)
        assertEquals("last_day", fails<KidplanException.InvalidInput> {
            d.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, today, far, AbsenceReason.SICK)) }
        }.field)
        assertEquals("day", fails<KidplanException.InvalidInput> { d.session.call { attendance(huge) } }.field)
        assertTrue(d.core.outbox().isEmpty(), "${d.core.outbox()}")
        assertEquals(2, d.core.children().size) // the core is still fine
    }

    @Test
    fun `a plain http server that is not loopback is refused at open`() {
        val dir = Files.createTempDirectory("kidplan-bad-url-")
        try {
            val e = assertThrows<KidplanException.InvalidInput> {
                Kidplan.open(dir.toString(), Device.config("http://kidplan.example.org"), InMemorySecretVault().asSecretStore())
            }
            assertEquals("server_url", e.field)
            Kidplan.open(dir.toString(), Device.config("https://kidplan.example.org"), InMemorySecretVault().asSecretStore()).close()
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `no session and an unreachable server map to their cases`(): Unit = runBlocking {
        Device(server.baseUrl).use { fresh ->
            fails<KidplanException.SessionExpired> { fresh.session.sync() }
            fails<KidplanException.SessionExpired> {
                fresh.session.call { reportAbsence(AbsenceReport(Demo.EMMA_ID, today, today, AbsenceReason.SICK)) }
            }
            assertTrue(fresh.core.children().isEmpty())
        }
        val deadPort = java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
        Device("http://127.0.0.1:$deadPort").use { offline ->
            fails<KidplanException.Offline> { offline.session.requestLoginCode(Demo.GUARDIAN_EMAIL) }
        }
    }

    @Test
    fun `a failing secret store is Storage, not a crash`(): Unit = runBlocking {
        val broken = object : SecretVault {
            override fun read(key: String): String? = throw IllegalStateException("keystore locked")
            override fun write(key: String, value: String) = throw IllegalStateException("keystore locked")
            override fun remove(key: String) = throw IllegalStateException("keystore locked")
        }
        val dir = Files.createTempDirectory("kidplan-broken-vault-")
        try {
            Kidplan.open(dir.toString(), Device.config(server.baseUrl), broken.asSecretStore()).use { core ->
                core.requestLoginCode(Demo.GUARDIAN_EMAIL)
                val e = assertThrows<KidplanException> {
                    runBlocking { core.verifyLoginCode(Demo.GUARDIAN_EMAIL, server.loginCode(Demo.GUARDIAN_EMAIL)) }
                }
                assertTrue(e is KidplanException.Storage, "$e")
                assertFalse(core.accounts().isNotEmpty() && core.children().isNotEmpty())
            }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `the native library reports its version`() {
        assertTrue(kidplanVersion().matches(Regex("\\d+\\.\\d+\\.\\d+.*")), kidplanVersion())
    }
}
