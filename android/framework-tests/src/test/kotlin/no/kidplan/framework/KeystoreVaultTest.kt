package no.kidplan.framework

import android.content.Context
import android.util.Base64
import kotlinx.coroutines.runBlocking
import no.kidplan.KeystoreSecretVault
import no.kidplan.KidplanAndroid
import no.kidplan.KidplanSession
import no.kidplan.asSecretStore
import no.kidplan.core.Config
import no.kidplan.core.KidplanException
import no.kidplan.core.api.Locale
import no.kidplan.core.api.Platform
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith

/**
 * The Keystore vault on the framework's SharedPreferences and Base64, with [TestKeyStore] standing
 * in for `AndroidKeyStore`: encryption, entries bound to their names, transient failures that
 * drop nothing, and the loss of the key, after which the account logs in again.
 */
@RunWith(KidplanTestRunner::class)
class KeystoreVaultTest : AppOnServer() {
    private val alias = "no.kidplan.secrets.v1"
    private val prefs get() = app.getSharedPreferences("no.kidplan.secrets", Context.MODE_PRIVATE)

    @Test
    fun `secrets are stored encrypted under a keystore key and read back`() {
        val vault = KeystoreSecretVault(app)
        assertNull(vault.read("refresh"))
        vault.write("refresh", "secret-refresh-token-canary")
        assertEquals(setOf(alias), TestKeyStore.aliases())
        assertEquals("secret-refresh-token-canary", vault.read("refresh"))
        assertEquals("secret-refresh-token-canary", KeystoreSecretVault(app).read("refresh"))

        val stored = prefs.getString("refresh", null)!!
        val raw = Base64.decode(stored, Base64.NO_WRAP)
        assertFalse(String(raw, Charsets.ISO_8859_1).contains("canary"))
        assertFalse(stored.contains("canary"))
        // Two writes of one value differ (a fresh IV each time).
        vault.write("refresh", "secret-refresh-token-canary")
        assertFalse(stored == prefs.getString("refresh", null))

        vault.remove("refresh")
        assertNull(vault.read("refresh"))
        assertFalse(vault.keyLost)
    }

    @Test
    fun `a value moved to another name, or altered, reads as absent and drops only itself`() {
        val vault = KeystoreSecretVault(app)
        vault.write("a", "value-a")
        vault.write("b", "value-b")
        prefs.edit().putString("moved", prefs.getString("a", null)).commit()
        assertNull(vault.read("moved"))
        prefs.edit().putString("b", "not base64 !!").commit()
        assertNull(vault.read("b"))
        assertEquals("value-a", vault.read("a"))
        assertFalse(vault.keyLost)
        assertEquals(setOf("a"), prefs.all.keys)
    }

    @Test
    fun `a keystore that fails for a moment loses nothing and reaches the core as Storage`() {
        val vault = KeystoreSecretVault(app)
        vault.write("refresh", "value")
        TestKeyStore.failing = true
        assertThrows(KidplanException.Storage::class.java) { vault.asSecretStore().get("refresh") }
        assertThrows(KidplanException.Storage::class.java) { vault.asSecretStore().set("other", "x") }
        TestKeyStore.failing = false
        assertEquals("value", vault.read("refresh"))
        assertFalse(vault.keyLost)
    }

    @Test
    fun `a key invalidated by a lock-screen change drops the secrets, the account logs in again`() {
        val config = Config(server.baseUrl, Locale.NB, Platform.ANDROID, "framework-tests")
        val dir = KidplanAndroid.dataDir(app).path
        KidplanSession.open(dir, config, KeystoreSecretVault(app).asSecretStore()).use { session ->
            runBlocking {
                session.requestLoginCode(Demo.GUARDIAN_EMAIL)
                session.verifyLoginCode(Demo.GUARDIAN_EMAIL, server.loginCode(Demo.GUARDIAN_EMAIL))
                session.sync()
            }
            assertEquals(2, session.core.children().size)
        }
        assertTrue(prefs.all.isNotEmpty())

        TestKeyStore.invalidate(alias)
        var told = 0
        val vault = KeystoreSecretVault(app) { told++ }
        KidplanSession.open(dir, config, vault.asSecretStore()).use { session ->
            // The cache's key was one of the lost secrets: the core starts that account empty.
            assertTrue(session.core.children().isEmpty())
            assertTrue(vault.keyLost)
            assertEquals(1, told)
            val error = runCatching { runBlocking { session.sync() } }.exceptionOrNull()
            assertTrue("must log in again: $error", error is KidplanException.SessionExpired)

            runBlocking {
                session.requestLoginCode(Demo.GUARDIAN_EMAIL)
                session.verifyLoginCode(Demo.GUARDIAN_EMAIL, server.loginCode(Demo.GUARDIAN_EMAIL))
                session.sync()
            }
            assertEquals(2, session.core.children().size)
        }
        // The new secrets are readable under the new key.
        val fresh = KeystoreSecretVault(app)
        assertTrue(prefs.all.keys.all { fresh.read(it) != null })
        assertFalse(fresh.keyLost)
    }
}
