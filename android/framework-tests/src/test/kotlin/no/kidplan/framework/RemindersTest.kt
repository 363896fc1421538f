package no.kidplan.framework

import android.app.AlarmManager
import android.app.Notification
import android.content.Intent
import java.time.Instant
import java.time.ZoneId
import java.time.temporal.ChronoUnit
import kotlinx.coroutines.runBlocking
import no.kidplan.KidplanAndroid
import no.kidplan.KidplanReminders
import no.kidplan.ReminderReceiver
import no.kidplan.core.api.ReminderKind
import no.kidplan.core.api.ReminderSetting
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlarmManager

/**
 * Reminders offline: the core lists a reminder, the library sets an alarm at its instant, the
 * alarm's broadcast posts the notification the core builds, once; a reboot sets the alarms again.
 */
@RunWith(KidplanTestRunner::class)
@Config(qualifiers = "nb")
class RemindersTest : AppOnServer() {
    private val oslo = ZoneId.of("Europe/Oslo")

    private val alarms: ShadowAlarmManager get() = shadowOf(app.getSystemService(AlarmManager::class.java))

    /** Calendar reminders due a minute ago for an event three hours from now; the event's id. */
    private fun eventDueNow(): String {
        val session = loggedIn()
        val now = Instant.now()
        if (now.atZone(oslo).let { it.hour == 0 && it.minute < 2 }) Thread.sleep(150_000)
        val starts = Instant.now().plus(3, ChronoUnit.HOURS)
        val minuteAgo = Instant.now().minusSeconds(60).atZone(oslo)
        val daysBefore = ChronoUnit.DAYS.between(minuteAgo.toLocalDate(), starts.atZone(oslo).toLocalDate())
        session.core.updateReminderSettings(
            listOf(
                ReminderSetting(
                    kind = ReminderKind.CALENDAR_EVENT,
                    enabled = true,
                    at = "%02d:%02d".format(minuteAgo.hour, minuteAgo.minute),
                    daysBefore = daysBefore.toInt().toUByte(),
                ),
            ),
        )
        val id = Staff(server).createEvent("Juletrefest", starts.toEpochMilli())
        runBlocking { session.sync() }
        return id
    }

    private fun alarmFor(key: String): ShadowAlarmManager.ScheduledAlarm? =
        alarms.scheduledAlarms.singleOrNull { KidplanReminders.keyOf(shadowOf(it.operation).savedIntent) == key }

    private fun shown(): List<Notification> =
        shadowOf(notifications).allNotifications.filter { it.flags and Notification.FLAG_GROUP_SUMMARY == 0 }

    @Test
    fun `an alarm is set at the reminder's instant and shows the core's notification once`() {
        grantNotifications(true)
        val eventId = eventDueNow()
        val session = KidplanAndroid.session(app)
        val reminder = session.core.upcomingReminders().single { it.eventId == eventId }

        assertTrue(KidplanReminders.schedule(app, session) >= 1)
        val alarm = alarmFor(reminder.key) ?: error("no alarm for ${reminder.key}")
        assertEquals(AlarmManager.RTC_WAKEUP, alarm.type)
        assertEquals(reminder.dueAt.toEpochMilli(), alarm.triggerAtTime)
        assertTrue("allowed while idle", alarm.allowWhileIdle)
        // Scheduling again moves the alarm; it does not add a second one.
        KidplanReminders.schedule(app, session)
        assertEquals(1, alarms.scheduledAlarms.count { KidplanReminders.keyOf(shadowOf(it.operation).savedIntent) == reminder.key })

        val fired = shadowOf(alarm.operation).savedIntent
        ReminderReceiver().onReceive(app, fired)
        val n = shown().single()
        assertEquals(reminder.notification.body, n.extras.getCharSequence(Notification.EXTRA_TEXT)?.toString())
        assertTrue(n.extras.getCharSequence(Notification.EXTRA_TEXT).toString().contains("Juletrefest"))

        // Fired again (or after the push showed it): nothing more.
        notifications.cancelAll()
        assertEquals(KidplanReminders.Outcome.NOTHING_TO_SHOW, KidplanReminders.show(app, reminder.key, session))
        assertTrue(shown().isEmpty())
        assertTrue(session.core.upcomingReminders().none { it.eventId == eventId })
    }

    @Test
    fun `without the notification permission the reminder waits, a reboot sets the alarms again`() {
        grantNotifications(false)
        val eventId = eventDueNow()
        val session = KidplanAndroid.session(app)
        val key = session.core.upcomingReminders().single { it.eventId == eventId }.key

        assertEquals(KidplanReminders.Outcome.NOT_ALLOWED, KidplanReminders.show(app, key, session))
        assertTrue("not used up", session.core.upcomingReminders().any { it.key == key })

        // A reboot drops every alarm.
        val manager = app.getSystemService(AlarmManager::class.java)
        alarms.scheduledAlarms.forEach { a -> a.operation?.let { manager.cancel(it) } }
        assertNull(alarmFor(key))
        ReminderReceiver().onReceive(app, Intent(Intent.ACTION_BOOT_COMPLETED))
        assertTrue("set again after a reboot", alarmFor(key) != null)

        grantNotifications(true)
        assertEquals(KidplanReminders.Outcome.POSTED, KidplanReminders.show(app, key, session))
        // An intent that is not a reminder alarm does nothing.
        assertNull(KidplanReminders.keyOf(Intent("no.kidplan.action.OTHER")))
        ReminderReceiver().onReceive(app, Intent(KidplanReminders.ACTION))
        assertEquals(1, shown().size)
    }
}
