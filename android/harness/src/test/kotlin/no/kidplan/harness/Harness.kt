package no.kidplan.harness

import java.nio.file.Files
import java.nio.file.Path
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import no.kidplan.InMemorySecretVault
import no.kidplan.KidplanSession
import no.kidplan.asSecretStore
import no.kidplan.core.Config
import no.kidplan.core.api.Locale
import no.kidplan.core.api.Platform

/** The seeded demo kindergarten (server/src/seed.rs, `demo`). */
object Demo {
    const val GUARDIAN_EMAIL = "kari.nordmann@example.org"
    const val STAFF_EMAIL = "randi.solberg@example.org"
    const val GUARDIAN_ID = "8d116ece-1738-47d9-bd9c-172411e20b8f"
    const val EMMA_ID = "90c192cf-d3ac-44af-8f21-ddb66cad4a26"
    const val JAKOB_ID = "a170b338-3926-4059-b28c-105d1fb17c23"
    const val OTHER_FAMILY_CHILD_ID = "0cb1e29c-658c-4a14-95e6-0af593bd04cf"
    const val KINDERGARTEN_ID = "6513270e-269e-4d37-b2a7-4de452e6b438"
    const val KINDERGARTEN_NAME = "Solsikken barnehage"
    const val CANARY_THREAD_ID = "ae97ba94-d0ed-482f-8f6d-05584ef8aa38"
    const val CANARY_GUARDIAN_ID = "92276658-1e27-41c0-8a6a-63ec24ede6a4"
    const val CANARY_CHILD_ID = "6b4cb242-4a23-4596-a217-beaddbc496cb"
    /** Kari's children as "first last", sorted. */
    val CHILD_NAMES = listOf("Emma Nordmann", "Jakob Nordmann")
}

/** One device: a data directory, an in-memory secret vault and a session on a server. */
class Device(serverUrl: String) : AutoCloseable {
    val dir: Path = Files.createTempDirectory("kidplan-device-")
    val vault = InMemorySecretVault()
    val session = KidplanSession.open(
        dir.toString(),
        config(serverUrl),
        vault.asSecretStore(),
    )
    val core get() = session.core

    override fun close() {
        session.close()
        dir.toFile().deleteRecursively()
    }

    companion object {
        fun config(serverUrl: String) = Config(
            serverUrl = serverUrl,
            locale = Locale.NB,
            platform = Platform.ANDROID,
            appVersion = "jvm-harness",
        )
    }
}

/** Logs [device] in as [contact] with the code the server put in its outbox. */
suspend fun ServerProcess.login(device: Device, contact: String = Demo.GUARDIAN_EMAIL) =
    device.session.run {
        requestLoginCode(contact)
        verifyLoginCode(contact, loginCode(contact))
    }

/** The first value of this flow matching [predicate], failing after [timeout]. */
suspend fun <T> Flow<T>.await(timeout: Duration = 10.seconds, predicate: (T) -> Boolean): T =
    withTimeout(timeout) { first(predicate) }
