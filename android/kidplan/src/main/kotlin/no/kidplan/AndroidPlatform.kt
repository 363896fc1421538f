package no.kidplan

import android.content.Context

/**
 * Android-only glue (not compiled by the JVM harness).
 * TODO(shell): Android Keystore-backed secret store, FirebaseMessagingService forwarding to
 * `handle_push`, WorkManager sync; added with the real core facade.
 */
object AndroidPlatform {
    /** Directory for the core's databases and file cache (app-private, excluded from backup). */
    fun dataDir(context: Context): String = context.noBackupFilesDir.resolve("kidplan").absolutePath
}
