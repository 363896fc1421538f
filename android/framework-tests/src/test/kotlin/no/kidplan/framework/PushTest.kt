package no.kidplan.framework

import android.app.Notification
import java.util.UUID
import kotlinx.coroutines.runBlocking
import no.kidplan.KidplanPush
import no.kidplan.NotificationChannels
import no.kidplan.sample.LoginActivity
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * A staff message on the real server → the content-free FCM data map the server queued → the
 * messaging class → the core's `handlePush` (a sync, text from the cache) → a notification posted
 * through the framework's NotificationManager.
 */
@RunWith(KidplanTestRunner::class)
@Config(qualifiers = "nb")
class PushTest : AppOnServer() {
    private val token = "fcm-token-framework-tests-1"

    /** Logs in, registers the FCM token, lets staff write in Emma's thread; the pushed data map. */
    private fun staffWritesToKari(body: String): Pair<String, Map<String, String>> {
        loggedIn()
        KidplanPush(app).onNewToken(token)
        val before = server.pushesTo(token).size
        val messageId = Staff(server).postMessage(Demo.EMMA_THREAD_ID, body)
        val pushes = server.pushesTo(token)
        assertEquals("one push for the new message", before + 1, pushes.size)
        return messageId to pushes.last()
    }

    @Test
    fun `a push becomes a notification on the messages channel, grouped per child, opening the thread`() {
        grantNotifications(true)
        val body = "Husk ullklær i morgen ${UUID.randomUUID()}"
        val (messageId, data) = staffWritesToKari(body)
        // What FCM sees: a version, a kind and an opaque hint; not the text.
        assertEquals("sync", data["kind"])
        assertTrue(data.toString(), data["hint"]?.endsWith(messageId) == true)
        assertFalse(data.toString(), data.values.any { it.contains("ullklær") })

        assertEquals(KidplanPush.Outcome.POSTED, KidplanPush(app).onMessage(data))

        val posted = shadowOf(notifications).allNotifications
        val shown = posted.single { it.flags and Notification.FLAG_GROUP_SUMMARY == 0 }
        assertEquals(NotificationChannels.channelId(no.kidplan.core.api.NotificationCategory.MESSAGES), shown.channelId)
        assertEquals(body, shown.extras.getCharSequence(Notification.EXTRA_TEXT)?.toString())
        assertTrue(shown.extras.getCharSequence(Notification.EXTRA_TITLE).toString().isNotBlank())
        assertNotNull("Android refuses a notification without a small icon", shown.smallIcon)
        assertEquals("kidplan.child.${Demo.EMMA_ID}", shown.group)
        val summary = posted.single { it.flags and Notification.FLAG_GROUP_SUMMARY != 0 }
        assertEquals(shown.group, summary.group)
        // The summary only heads the bundle: the child's notification alone sounds.
        assertEquals(Notification.GROUP_ALERT_CHILDREN, summary.groupAlertBehavior)

        val pending = shown.contentIntent
        assertNotNull("a tap opens the app", pending)
        val tap = shadowOf(pending).savedIntent
        assertEquals(LoginActivity::class.java.name, tap.component?.className)
        assertEquals("thread", tap.getStringExtra(NotificationChannels.EXTRA_OPEN_KIND))
        assertEquals(Demo.EMMA_THREAD_ID, tap.getStringExtra(NotificationChannels.EXTRA_OPEN_ID))
        // Ids only: nothing else rides on the intent (no text, no name).
        assertEquals(
            setOf(NotificationChannels.EXTRA_OPEN_KIND, NotificationChannels.EXTRA_OPEN_ID),
            tap.extras?.keySet(),
        )
    }

    @Test
    fun `with the notification permission denied nothing is posted and the core still syncs`() {
        grantNotifications(false)
        val body = "Vi går på tur ${UUID.randomUUID()}"
        val (messageId, data) = staffWritesToKari(body)

        assertEquals(KidplanPush.Outcome.NOT_ALLOWED, KidplanPush(app).onMessage(data))
        assertTrue(shadowOf(notifications).allNotifications.isEmpty())

        // The push's sync ran: the message is in the phone's cache, and syncing goes on.
        val session = no.kidplan.KidplanAndroid.session(app)
        val cached = session.core.messages(Demo.EMMA_THREAD_ID, null, 50u).map { it.message }
        assertEquals(body, cached.single { it.id == messageId }.body)
        runBlocking { session.sync() }
    }

    @Test
    fun `a push that is not ours posts nothing and does not throw`() {
        grantNotifications(true)
        loggedIn()
        val push = KidplanPush(app)
        assertEquals(KidplanPush.Outcome.NOTHING_TO_SHOW, push.onMessage(mapOf("v" to "2", "kind" to "sync")))
        assertEquals(KidplanPush.Outcome.NOTHING_TO_SHOW, push.onMessage(emptyMap()))
        assertTrue(shadowOf(notifications).allNotifications.isEmpty())
    }
}
