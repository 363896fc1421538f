package no.kidplan

import android.content.Context
import android.os.Build
import java.util.Locale as JavaLocale
import no.kidplan.core.Config
import no.kidplan.core.api.Locale
import no.kidplan.core.api.Platform

/**
 * Android glue: where the core keeps its data, how it is configured, and the one
 * [KidplanSession] of the process (the core owns a runtime and a database per account: open it
 * once). Not compiled by the JVM harness.
 */
object KidplanAndroid {
    @Volatile private var session: KidplanSession? = null

    /** Directory for the core's databases and file cache (app-private, excluded from backup). */
    fun dataDir(context: Context): String = context.noBackupFilesDir.resolve("kidplan").absolutePath

    /** The language notifications are built in: nynorsk, bokmål, else English. */
    fun locale(): Locale = when (JavaLocale.getDefault().language) {
        "nn" -> Locale.NN
        "nb", "no" -> Locale.NB
        else -> Locale.EN
    }

    /**
     * The process-wide session, opened on first use with a Keystore-backed secret store.
     * Call [configure] from `Application.onCreate` first to set the server.
     */
    fun session(context: Context): KidplanSession =
        session ?: synchronized(this) {
            session ?: run {
                val app = context.applicationContext
                val cfg = checkNotNull(config) { "KidplanAndroid.configure(serverUrl, appVersion) first" }
                NotificationChannels.create(app)
                KidplanSession.open(
                    dataDir(app),
                    cfg,
                    KeystoreSecretVault(app).asSecretStore(),
                ).also { session = it }
            }
        }

    @Volatile private var config: Config? = null

    /** Sets the server and app version; call once from `Application.onCreate`. */
    fun configure(serverUrl: String, appVersion: String) {
        config = Config(
            serverUrl = serverUrl,
            locale = locale(),
            platform = Platform.ANDROID,
            appVersion = "$appVersion (Android ${Build.VERSION.SDK_INT})".take(64),
        )
    }
}
