package no.kidplan

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.net.Uri
import kotlinx.coroutines.flow.launchIn
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import no.kidplan.core.Collection
import no.kidplan.core.KidplanException

/**
 * Reminders ("påminnelser") while the phone is offline. [schedule] sets one alarm per reminder
 * the core lists (`upcomingReminders`, each at its `dueAt`); when one goes off, [ReminderReceiver]
 * asks the core (`reminderDue`) and posts what it builds. The core decides whether the reminder
 * still applies and marks it shown, so a reminder shows once, whether this alarm or the server's
 * reminder push comes first. Nothing here decides anything: an alarm for a reminder that no longer
 * applies finds the core answering `null`.
 *
 * Alarms are inexact and allowed while idle (no exact-alarm permission); each reminder's alarm is
 * keyed by the core's reminder key, so scheduling again moves it rather than adding one.
 */
object KidplanReminders {
    /** The action of a reminder alarm's broadcast; its data is `kidplan-reminder:<key>`. */
    const val ACTION = "no.kidplan.action.REMINDER"
    private const val SCHEME = "kidplan-reminder"

    /** What became of one alarm. */
    enum class Outcome { POSTED, NOTHING_TO_SHOW, NOT_ALLOWED }

    /**
     * Sets an alarm for every reminder the core lists now; returns how many. A core error (no
     * account, a corrupt cache) schedules nothing: the next change or sync schedules again.
     */
    fun schedule(context: Context, session: KidplanSession = KidplanAndroid.session(context)): Int {
        val app = context.applicationContext ?: context
        val upcoming = try {
            session.core.upcomingReminders()
        } catch (_: KidplanException) {
            return 0
        }
        val alarms = app.getSystemService(AlarmManager::class.java)
        for (r in upcoming) {
            alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, r.dueAt.toEpochMilli(), alarm(app, r.key))
        }
        return upcoming.size
    }

    /**
     * Schedules on [scope] (never on the caller's thread: opening the session stays cheap), now
     * and again whenever the calendar, holidays or reminder settings change.
     */
    fun watch(context: Context, session: KidplanSession, scope: CoroutineScope): Job {
        val app = context.applicationContext ?: context
        return session.changes(Collection.CALENDAR, Collection.HOLIDAYS, Collection.REMINDERS, Collection.ACCOUNT)
            .onStart { emit(emptySet()) }
            .onEach { schedule(app, session) }
            .launchIn(scope)
    }

    /** The alarm for the reminder [key] went off: posts its notification if the core has one. */
    fun show(context: Context, key: String, session: KidplanSession = KidplanAndroid.session(context)): Outcome {
        val app = context.applicationContext ?: context
        // Asked only when it can be posted: the core marks a reminder shown when it answers.
        if (!NotificationChannels.allowed(app)) return Outcome.NOT_ALLOWED
        val notification = try {
            session.core.reminderDue(key)
        } catch (_: KidplanException) {
            null
        } ?: return Outcome.NOTHING_TO_SHOW
        return if (NotificationChannels.post(app, notification)) Outcome.POSTED else Outcome.NOT_ALLOWED
    }

    /** The reminder key an alarm's intent carries, or null for an intent that is not one. */
    fun keyOf(intent: Intent?): String? =
        intent?.takeIf { it.action == ACTION && it.data?.scheme == SCHEME }?.data?.schemeSpecificPart

    private fun alarm(context: Context, key: String): PendingIntent {
        val intent = Intent(ACTION, Uri.fromParts(SCHEME, key, null))
            .setClass(context, ReminderReceiver::class.java)
        return PendingIntent.getBroadcast(
            context,
            0,
            intent,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }
}

/** Receives reminder alarms, and sets them again after a reboot (Android drops alarms then). */
class ReminderReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        when {
            intent.action == Intent.ACTION_BOOT_COMPLETED -> KidplanReminders.schedule(context)
            else -> KidplanReminders.keyOf(intent)?.let { KidplanReminders.show(context, it) }
        }
    }
}
