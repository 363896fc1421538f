package no.kidplan.framework

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import java.io.InputStream
import java.io.OutputStream
import java.security.AlgorithmParameters
import java.security.InvalidAlgorithmParameterException
import java.security.InvalidKeyException
import java.security.Key
import java.security.KeyStoreSpi
import java.security.ProviderException
import java.security.Provider
import java.security.SecureRandom
import java.security.Security
import java.security.cert.Certificate
import java.security.spec.AlgorithmParameterSpec
import java.util.Collections
import java.util.Date
import java.util.Enumeration
import java.util.concurrent.ConcurrentHashMap
import javax.crypto.Cipher
import javax.crypto.CipherSpi
import javax.crypto.KeyGeneratorSpi
import javax.crypto.SecretKey
import javax.crypto.spec.SecretKeySpec

/**
 * A JCA provider named `AndroidKeyStore` standing in for Android's Keystore on the JVM, with the
 * behaviour the vault relies on: non-exportable AES keys made from a [KeyGenParameterSpec] and
 * kept under an alias, GCM encryption that picks its own IV, keys the system can invalidate
 * ([invalidate]: what a lock-screen change does to such a key) so that `Cipher.init` throws
 * [KeyPermanentlyInvalidatedException], and transient failures ([failing]). The crypto itself is
 * the JDK's AES-GCM. What it cannot show: hardware backing (TEE/StrongBox), and which keys a real
 * device invalidates when.
 */
object TestKeyStore {
    private val keys = ConcurrentHashMap<String, KeystoreKey>()

    /** While true every Keystore operation fails with a [ProviderException] (a busy keystore daemon). */
    @Volatile var failing = false

    /** Registers the provider first in line, as Android does, and forgets every key. */
    fun install() {
        Security.removeProvider(NAME)
        Security.insertProviderAt(TestKeyStoreProvider(), 1)
        keys.clear()
        failing = false
    }

    /** The aliases held. */
    fun aliases(): Set<String> = keys.keys.toSet()

    /** Invalidates the key under [alias] for good. */
    fun invalidate(alias: String) {
        checkNotNull(keys[alias]) { "no key $alias" }.invalidated = true
    }

    internal fun get(alias: String) = keys[alias]
    internal fun put(key: KeystoreKey) = keys.put(key.alias, key)
    internal fun remove(alias: String) = keys.remove(alias)

    internal fun checkAvailable() {
        if (failing) throw ProviderException("keystore unavailable")
    }

    const val NAME = "AndroidKeyStore"
}

/** A Keystore key: its material never leaves the provider (no encoding, like Android's). */
class KeystoreKey internal constructor(val alias: String, internal val material: ByteArray) : SecretKey {
    @Volatile internal var invalidated = false
    override fun getAlgorithm() = KeyProperties.KEY_ALGORITHM_AES
    override fun getFormat(): String? = null
    override fun getEncoded(): ByteArray? = null
}

class TestKeyStoreProvider : Provider(TestKeyStore.NAME, "1.0", "Stand-in for the Android Keystore") {
    init {
        put("KeyStore.${TestKeyStore.NAME}", TestKeyStoreSpi::class.java.name)
        put("KeyGenerator.AES", TestAesKeyGenerator::class.java.name)
        put("Cipher.AES/GCM/NoPadding", TestKeystoreCipher::class.java.name)
        put("Cipher.AES/GCM/NoPadding SupportedKeyClasses", KeystoreKey::class.java.name)
    }
}

class TestKeyStoreSpi : KeyStoreSpi() {
    override fun engineGetKey(alias: String, password: CharArray?): Key? {
        TestKeyStore.checkAvailable()
        return TestKeyStore.get(alias)
    }
    override fun engineGetCertificateChain(alias: String?): Array<Certificate>? = null
    override fun engineGetCertificate(alias: String?): Certificate? = null
    override fun engineGetCreationDate(alias: String?): Date? = null
    override fun engineSetKeyEntry(alias: String?, key: Key?, password: CharArray?, chain: Array<out Certificate>?) =
        throw UnsupportedOperationException("keys are generated inside the keystore")
    override fun engineSetKeyEntry(alias: String?, key: ByteArray?, chain: Array<out Certificate>?) =
        throw UnsupportedOperationException("keys are generated inside the keystore")
    override fun engineSetCertificateEntry(alias: String?, cert: Certificate?) = throw UnsupportedOperationException()
    override fun engineDeleteEntry(alias: String) {
        TestKeyStore.checkAvailable()
        TestKeyStore.remove(alias)
    }
    override fun engineAliases(): Enumeration<String> = Collections.enumeration(TestKeyStore.aliases())
    override fun engineContainsAlias(alias: String) = TestKeyStore.get(alias) != null
    override fun engineSize() = TestKeyStore.aliases().size
    override fun engineIsKeyEntry(alias: String) = engineContainsAlias(alias)
    override fun engineIsCertificateEntry(alias: String?) = false
    override fun engineGetCertificateAlias(cert: Certificate?): String? = null
    override fun engineStore(stream: OutputStream?, password: CharArray?) = throw UnsupportedOperationException()
    override fun engineLoad(stream: InputStream?, password: CharArray?) {
        require(stream == null) { "the Android keystore loads from nothing" }
    }
}

class TestAesKeyGenerator : KeyGeneratorSpi() {
    private var spec: KeyGenParameterSpec? = null

    override fun engineInit(random: SecureRandom?) =
        throw InvalidAlgorithmParameterException("a KeyGenParameterSpec is required")
    override fun engineInit(keysize: Int, random: SecureRandom?) =
        throw InvalidAlgorithmParameterException("a KeyGenParameterSpec is required")
    override fun engineInit(params: AlgorithmParameterSpec?, random: SecureRandom?) {
        val s = params as? KeyGenParameterSpec ?: throw InvalidAlgorithmParameterException("not a KeyGenParameterSpec")
        if (s.keySize !in setOf(128, 192, 256)) throw InvalidAlgorithmParameterException("key size ${s.keySize}")
        if (KeyProperties.BLOCK_MODE_GCM !in s.blockModes) throw InvalidAlgorithmParameterException("GCM not allowed")
        spec = s
    }
    override fun engineGenerateKey(): SecretKey {
        TestKeyStore.checkAvailable()
        val s = checkNotNull(spec) { "not initialised" }
        val material = ByteArray(s.keySize / 8).also { SecureRandom().nextBytes(it) }
        return KeystoreKey(s.keystoreAlias, material).also { TestKeyStore.put(it) }
    }
}

/** AES-GCM with a Keystore key; like Android's, it refuses a caller-chosen IV when encrypting. */
class TestKeystoreCipher : CipherSpi() {
    private var jdk: Cipher? = null

    override fun engineSetMode(mode: String) {
        if (!mode.equals("GCM", ignoreCase = true)) throw java.security.NoSuchAlgorithmException(mode)
    }
    override fun engineSetPadding(padding: String) {
        if (!padding.equals("NoPadding", ignoreCase = true)) throw javax.crypto.NoSuchPaddingException(padding)
    }
    override fun engineGetBlockSize() = 16
    override fun engineGetOutputSize(inputLen: Int) = cipher().getOutputSize(inputLen)
    override fun engineGetIV(): ByteArray? = jdk?.iv
    override fun engineGetParameters(): AlgorithmParameters? = jdk?.parameters

    override fun engineInit(opmode: Int, key: Key, random: SecureRandom?) = init(opmode, key, null)
    override fun engineInit(opmode: Int, key: Key, params: AlgorithmParameterSpec?, random: SecureRandom?) =
        init(opmode, key, params)
    override fun engineInit(opmode: Int, key: Key, params: AlgorithmParameters?, random: SecureRandom?) =
        init(opmode, key, params?.getParameterSpec(javax.crypto.spec.GCMParameterSpec::class.java))

    private fun init(opmode: Int, key: Key, params: AlgorithmParameterSpec?) {
        val k = key as? KeystoreKey ?: throw InvalidKeyException("not a keystore key")
        TestKeyStore.checkAvailable()
        if (k.invalidated) throw KeyPermanentlyInvalidatedException()
        if (opmode == Cipher.ENCRYPT_MODE && params != null) {
            throw InvalidAlgorithmParameterException("caller-provided IV not permitted")
        }
        val c = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE")
        val raw = SecretKeySpec(k.material, "AES")
        if (params == null) c.init(opmode, raw) else c.init(opmode, raw, params)
        jdk = c
    }

    private fun cipher() = checkNotNull(jdk) { "not initialised" }

    override fun engineUpdateAAD(src: ByteArray, offset: Int, len: Int) = cipher().updateAAD(src, offset, len)
    override fun engineUpdate(input: ByteArray, inputOffset: Int, inputLen: Int): ByteArray? =
        cipher().update(input, inputOffset, inputLen)
    override fun engineUpdate(input: ByteArray, inputOffset: Int, inputLen: Int, output: ByteArray, outputOffset: Int) =
        cipher().update(input, inputOffset, inputLen, output, outputOffset)
    override fun engineDoFinal(input: ByteArray?, inputOffset: Int, inputLen: Int): ByteArray =
        cipher().doFinal(input, inputOffset, inputLen)
    override fun engineDoFinal(input: ByteArray?, inputOffset: Int, inputLen: Int, output: ByteArray, outputOffset: Int) =
        cipher().doFinal(input, inputOffset, inputLen, output, outputOffset)
}
