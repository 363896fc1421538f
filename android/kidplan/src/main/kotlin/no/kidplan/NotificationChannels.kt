package no.kidplan

import android.Manifest
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import no.kidplan.core.LocalNotification
import no.kidplan.core.api.NotificationCategory

/**
 * The app's notification channels, one per [NotificationCategory] and named in the device's
 * language, and the posting of what the core's `handlePush` built. Framework API only (minSdk 26
 * has channels): no androidx.core.
 */
object NotificationChannels {
    /** Extra of the tap intent: which screen to open ([OpenTarget.kind]). */
    const val EXTRA_OPEN_KIND = "no.kidplan.open.kind"

    /** Extra of the tap intent: the id of the thread or child that screen shows. */
    const val EXTRA_OPEN_ID = "no.kidplan.open.id"

    /** The channel of [category]. */
    fun channelId(category: NotificationCategory): String = "kidplan.${category.name.lowercase()}"

    /** Urgent alerts from the kindergarten interrupt (heads-up, sound); the rest do not pop up. */
    fun importance(category: NotificationCategory): Int =
        if (category == NotificationCategory.URGENT) {
            NotificationManager.IMPORTANCE_HIGH
        } else {
            NotificationManager.IMPORTANCE_DEFAULT
        }

    /** The group a notification about [childId] joins: one bundle per child. */
    fun groupKey(childId: String?): String = if (childId != null) "kidplan.child.$childId" else "kidplan.general"

    /** Creates every channel, or renames them in the current language; cheap, call at startup. */
    fun create(context: Context) {
        val language = KidplanAndroid.locale(context)
        manager(context).createNotificationChannels(
            NotificationCategory.entries.map { category ->
                NotificationChannel(
                    channelId(category),
                    ChannelTexts.name(language, category),
                    importance(category),
                ).apply { description = ChannelTexts.description(language, category) }
            },
        )
    }

    /**
     * Whether the app may post: on Android 13+ the runtime permission, everywhere the app-wide
     * switch in the system settings.
     */
    fun allowed(context: Context): Boolean {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            return false
        }
        return manager(context).areNotificationsEnabled()
    }

    /**
     * Posts [n] in its category's channel, grouped per child, replacing an older notification of
     * the same thread (or child, or category). Tapping opens the app's launcher activity with
     * [EXTRA_OPEN_KIND] and [EXTRA_OPEN_ID]: ids only, never text. Returns false, and posts
     * nothing, when the app may not post.
     */
    fun post(context: Context, n: LocalNotification): Boolean {
        if (!allowed(context)) return false
        val manager = manager(context)
        if (manager.getNotificationChannel(channelId(n.category)) == null) create(context)

        // One notification per thread (a new message replaces the last); anything else under
        // the core's key of what it is about, so a reminder shown from a push and the same
        // reminder scheduled offline (`upcomingReminders`) are one notification.
        val tag = n.threadId ?: n.key
        val group = groupKey(n.childId)
        val icon = smallIcon(context)
        val notification = Notification.Builder(context, channelId(n.category))
            .setSmallIcon(icon)
            .setContentTitle(n.title)
            .setContentText(n.body)
            .setStyle(Notification.BigTextStyle().bigText(n.body))
            .setGroup(group)
            .setAutoCancel(true)
            .setCategory(if (n.category == NotificationCategory.MESSAGES) Notification.CATEGORY_MESSAGE else null)
        tapIntent(context, OpenTarget.of(n), requestCode = tag.hashCode() * 31 + n.category.ordinal)
            ?.let { notification.setContentIntent(it) }
        manager.notify(tag, n.category.ordinal, notification.build())

        // The bundle's header; Android shows the child's notifications under it.
        val summary = Notification.Builder(context, channelId(n.category))
            .setSmallIcon(icon)
            .setContentTitle(n.title)
            .setGroup(group)
            .setGroupSummary(true)
            .setGroupAlertBehavior(Notification.GROUP_ALERT_CHILDREN)
            .setAutoCancel(true)
            .build()
        manager.notify(group, SUMMARY_ID, summary)
        return true
    }

    /** The screen a tap opens: a [kind] the app routes on and the [id] it shows. */
    data class OpenTarget(val kind: String, val id: String?) {
        companion object {
            const val THREAD = "thread"
            const val CHILD = "child"
            const val HOME = "home"

            /** A message opens its thread, anything about one child that child, the rest home. */
            fun of(n: LocalNotification): OpenTarget = when {
                n.threadId != null -> OpenTarget(THREAD, n.threadId)
                n.childId != null -> OpenTarget(CHILD, n.childId)
                else -> OpenTarget(HOME, null)
            }

            /** What a tap intent asks for, or null for an intent that did not come from us. */
            fun from(intent: Intent?): OpenTarget? {
                val kind = intent?.getStringExtra(EXTRA_OPEN_KIND) ?: return null
                return OpenTarget(kind, intent.getStringExtra(EXTRA_OPEN_ID))
            }
        }
    }

    private fun tapIntent(context: Context, target: OpenTarget, requestCode: Int): PendingIntent? {
        val open = context.packageManager.getLaunchIntentForPackage(context.packageName) ?: return null
        open.putExtra(EXTRA_OPEN_KIND, target.kind)
        target.id?.let { open.putExtra(EXTRA_OPEN_ID, it) }
        open.addFlags(Intent.FLAG_ACTIVITY_CLEAR_TOP)
        return PendingIntent.getActivity(
            context,
            requestCode,
            open,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }

    /** The app's icon; the system's info icon for an app without one (Android refuses none). */
    private fun smallIcon(context: Context): Int =
        context.applicationInfo.icon.takeIf { it != 0 } ?: android.R.drawable.ic_dialog_info

    private fun manager(context: Context): NotificationManager =
        context.getSystemService(NotificationManager::class.java)

    private const val SUMMARY_ID = Int.MAX_VALUE
}
