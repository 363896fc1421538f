package no.kidplan

import java.util.concurrent.ConcurrentHashMap
import no.kidplan.core.KidplanException
import no.kidplan.core.SecretStore

/**
 * The storage a platform offers for secret strings (Android Keystore, Apple Keychain, ...), in
 * plain Kotlin terms. [asSecretStore] turns it into the core's [SecretStore] foreign trait.
 */
interface SecretVault {
    fun read(key: String): String?
    fun write(key: String, value: String)
    fun remove(key: String)
}

/**
 * Adapts a [SecretVault] to the core's [SecretStore]. Any failure of the vault reaches the core
 * as [KidplanException.Storage] (never as an unexpected callback error, and never with the
 * vault's message, which could quote a key).
 */
fun SecretVault.asSecretStore(): SecretStore = VaultSecretStore(this)

private class VaultSecretStore(private val vault: SecretVault) : SecretStore {
    override fun get(key: String): String? = guard { vault.read(key) }
    override fun set(key: String, value: String) = guard { vault.write(key, value) }
    override fun delete(key: String) = guard { vault.remove(key) }

    private inline fun <T> guard(block: () -> T): T =
        try {
            block()
        } catch (e: KidplanException) {
            throw e
        } catch (e: Exception) {
            throw KidplanException.Storage()
        }
}

/** Secrets in memory only: for tests, and for hosts that must not persist a session. */
class InMemorySecretVault : SecretVault {
    private val map = ConcurrentHashMap<String, String>()
    override fun read(key: String): String? = map[key]
    override fun write(key: String, value: String) { map[key] = value }
    override fun remove(key: String) { map.remove(key) }
    /** The keys held (tests check what the core stored). */
    fun keys(): Set<String> = map.keys.toSet()
}
