package no.kidplan

import android.content.Context
import android.os.Build
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import java.util.Locale as JavaLocale
import no.kidplan.core.Config
import no.kidplan.core.api.Locale
import no.kidplan.core.api.Platform

/**
 * Android glue: where the core keeps its data, the language it writes notifications in, and the
 * one [KidplanSession] of the process (the core owns a runtime and a database per account: open
 * it once). Call [configure] from `Application.onCreate`.
 */
object KidplanAndroid {
    @Volatile private var session: KidplanSession? = null
    @Volatile private var config: Config? = null
    @Volatile private var vault: KeystoreSecretVault? = null
    @Volatile private var reminders: CoroutineScope? = null

    /**
     * Directory for the core's databases and file cache: app-private and inside
     * `noBackupFilesDir`, which Android never backs up nor moves to another device (the backup
     * rules in `res/xml` exclude it as well).
     */
    fun dataDir(context: Context): File = File(context.noBackupFilesDir, DATA_DIR)

    /** The device's (or the app's per-app) language as the core knows it: nn, nb, else en. */
    fun locale(context: Context): Locale = locale(context.resources.configuration.locales[0])

    /** nynorsk for `nn`, bokmål for `nb` and `no`, English for anything else. */
    fun locale(locale: JavaLocale): Locale = when (locale.language) {
        "nn" -> Locale.NN
        "nb", "no" -> Locale.NB
        else -> Locale.EN
    }

    /** Sets the server and app version; call once from `Application.onCreate`. */
    fun configure(context: Context, serverUrl: String, appVersion: String) {
        config = Config(
            serverUrl = serverUrl,
            locale = locale(context),
            platform = Platform.ANDROID,
            appVersion = "$appVersion (Android ${Build.VERSION.SDK_INT})".take(64),
        )
    }

    /**
     * The process-wide session, opened on first use with a Keystore-backed secret store; the
     * notification channels are created (or renamed for the current language) at the same time,
     * and reminder alarms follow the core's upcoming reminders from then on ([KidplanReminders]).
     */
    fun session(context: Context): KidplanSession =
        session ?: synchronized(this) {
            session ?: run {
                val app = context.applicationContext
                val cfg = checkNotNull(config) { "KidplanAndroid.configure(context, serverUrl, appVersion) first" }
                NotificationChannels.create(app)
                val secrets = KeystoreSecretVault(app).also { vault = it }
                KidplanSession.open(dataDir(app).path, cfg, secrets.asSecretStore())
                    .also { opened ->
                        session = opened
                        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default).also { reminders = it }
                        KidplanReminders.watch(app, opened, scope)
                    }
            }
        }

    /**
     * True once the Keystore key of this install was found invalidated or gone (for example after
     * the lock screen was removed): the secrets were dropped, so the account must log in again.
     */
    fun secretsLost(): Boolean = vault?.keyLost == true

    /** Closes the process-wide session, if open (an app that wipes itself, or a test). */
    fun close() = synchronized(this) {
        reminders?.cancel()
        reminders = null
        session?.close()
        session = null
        vault = null
    }

    private const val DATA_DIR = "kidplan"
}
