package no.kidplan

import android.Manifest
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.pm.PackageManager
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import no.kidplan.core.LocalNotification
import no.kidplan.core.api.NotificationCategory

/** One notification channel per [NotificationCategory]; posts what `handlePush` returns. */
object NotificationChannels {
    fun channelId(category: NotificationCategory): String = "kidplan.${category.name.lowercase()}"

    private fun name(context: Context, category: NotificationCategory): String = context.getString(
        when (category) {
            NotificationCategory.MESSAGES -> R.string.kidplan_channel_messages
            NotificationCategory.ABSENCE_ACKNOWLEDGED -> R.string.kidplan_channel_absence_acknowledged
            NotificationCategory.CHILD_LOG -> R.string.kidplan_channel_child_log
            NotificationCategory.CALENDAR -> R.string.kidplan_channel_calendar
            NotificationCategory.PHOTOS -> R.string.kidplan_channel_photos
            NotificationCategory.URGENT -> R.string.kidplan_channel_urgent
            NotificationCategory.UNKNOWN -> R.string.kidplan_channel_other
        },
    )

    /** Creates (or renames) every channel; cheap, call at startup. minSdk 26 has channels. */
    fun create(context: Context) {
        val manager = context.getSystemService(NotificationManager::class.java)
        manager.createNotificationChannels(
            NotificationCategory.entries.map { category ->
                val importance = if (category == NotificationCategory.URGENT) {
                    NotificationManager.IMPORTANCE_HIGH
                } else {
                    NotificationManager.IMPORTANCE_DEFAULT
                }
                NotificationChannel(channelId(category), name(context, category), importance)
            },
        )
    }

    /** Posts [n] in its category's channel; tapping opens the app's launcher activity. */
    fun post(context: Context, n: LocalNotification) {
        if (ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS)
            != PackageManager.PERMISSION_GRANTED
        ) {
            return // Android 13+: the app has not been granted notifications
        }
        val open = context.packageManager.getLaunchIntentForPackage(context.packageName)?.apply {
            n.threadId?.let { putExtra("no.kidplan.thread_id", it) }
            n.childId?.let { putExtra("no.kidplan.child_id", it) }
        }
        val builder = NotificationCompat.Builder(context, channelId(n.category))
            .setSmallIcon(context.applicationInfo.icon)
            .setContentTitle(n.title)
            .setContentText(n.body)
            .setStyle(NotificationCompat.BigTextStyle().bigText(n.body))
            .setAutoCancel(true)
        if (open != null) {
            builder.setContentIntent(
                PendingIntent.getActivity(
                    context, 0, open,
                    PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
                ),
            )
        }
        // One notification per thread (or child, or category): a newer one replaces it.
        val tag = n.threadId ?: n.childId ?: n.category.name
        NotificationManagerCompat.from(context).notify(tag, n.category.ordinal, builder.build())
    }
}
