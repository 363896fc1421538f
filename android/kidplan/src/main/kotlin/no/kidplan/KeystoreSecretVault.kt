package no.kidplan

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.util.Base64
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Secrets encrypted with an AES-256-GCM key that never leaves the Android Keystore (hardware
 * backed where the device has it), stored as `base64(iv || ciphertext)` in a private
 * SharedPreferences file; the entry's name is authenticated with it, so a value moved to another
 * name does not decrypt. The key is not exportable and not part of any backup, and the file is
 * excluded from backup and device transfer (`res/xml/kidplan_*backup_rules.xml`).
 *
 * Losing the key (invalidated by the system, for example after a lock-screen change, or gone
 * from the Keystore) makes every stored secret unreadable for good: the vault then drops them
 * all, sets [keyLost] and calls [onKeyLost]; the core starts without them, so the account must
 * log in again (its cache, whose key was one of them, starts empty). A single entry that does
 * not decrypt is dropped alone. Any other Keystore failure is thrown (the core reports it as
 * `Storage`) and drops nothing: a transient error must not log the parent out.
 */
class KeystoreSecretVault(
    context: Context,
    private val onKeyLost: (() -> Unit)? = null,
) : SecretVault {
    private val prefs = context.applicationContext
        .getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    /** True once this vault found its key invalidated or gone and dropped the secrets. */
    @Volatile var keyLost: Boolean = false
        private set

    @Synchronized
    override fun read(key: String): String? {
        val stored = prefs.getString(key, null) ?: return null
        val bytes = decode(stored) ?: return drop(key)
        val secretKey = existingKey() ?: return lose()
        val cipher = Cipher.getInstance(TRANSFORMATION)
        try {
            cipher.init(Cipher.DECRYPT_MODE, secretKey, GCMParameterSpec(TAG_BITS, bytes, 0, IV_BYTES))
        } catch (_: KeyPermanentlyInvalidatedException) {
            return lose()
        }
        cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
        return try {
            String(cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES), Charsets.UTF_8)
        } catch (_: AEADBadTagException) {
            drop(key) // written under another key or name, or altered
        }
    }

    @Synchronized
    override fun write(key: String, value: String) {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        try {
            cipher.init(Cipher.ENCRYPT_MODE, keyForWriting())
        } catch (_: KeyPermanentlyInvalidatedException) {
            lose()
            cipher.init(Cipher.ENCRYPT_MODE, keyForWriting())
        }
        cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
        val out = cipher.iv + cipher.doFinal(value.toByteArray(Charsets.UTF_8))
        check(prefs.edit().putString(key, Base64.encodeToString(out, Base64.NO_WRAP)).commit()) {
            "secret not written"
        }
    }

    @Synchronized
    override fun remove(key: String) {
        check(prefs.edit().remove(key).commit()) { "secret not removed" }
    }

    private fun decode(stored: String): ByteArray? =
        try {
            Base64.decode(stored, Base64.NO_WRAP).takeIf { it.size >= IV_BYTES + TAG_BITS / 8 }
        } catch (_: IllegalArgumentException) {
            null
        }

    /** Drops one unreadable entry; reads as absent. */
    private fun drop(key: String): String? {
        prefs.edit().remove(key).commit()
        return null
    }

    /** The key is gone for good: drop it and every secret it protected, and say so. */
    private fun lose(): String? {
        keyStore().deleteEntry(ALIAS)
        check(prefs.edit().clear().commit()) { "secrets not cleared" }
        keyLost = true
        onKeyLost?.invoke()
        return null
    }

    /** The existing key; a new one when there is none (after dropping what the old one protected). */
    private fun keyForWriting(): SecretKey {
        existingKey()?.let { return it }
        if (prefs.all.isNotEmpty()) lose()
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(KEY_BITS)
                .build(),
        )
        return gen.generateKey()
    }

    private fun existingKey(): SecretKey? = keyStore().getKey(ALIAS, null) as? SecretKey

    private fun keyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "no.kidplan.secrets.v1"
        const val PREFS = "no.kidplan.secrets"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val KEY_BITS = 256
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
