package no.kidplan.framework

import android.app.Activity
import android.content.Intent
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.TextView
import no.kidplan.KidplanAndroid
import no.kidplan.core.OutboxStatus
import no.kidplan.sample.HomeActivity
import no.kidplan.sample.LoginActivity
import no.kidplan.sample.SampleApp
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * The sample app driven through its views against a real server: log in with a code, the home
 * screen, an absence reported offline (pending on the phone), then sent once the server is back.
 */
@RunWith(KidplanTestRunner::class)
@Config(application = SampleApp::class)
class SampleAppTest : AppOnServer() {
    private fun <V : View> Activity.view(tag: String): V =
        checkNotNull(window.decorView.findViewWithTag<V>(tag)) { "no view $tag" }

    private fun Activity.text(tag: String): String = view<TextView>(tag).text.toString()

    @Test
    fun `log in, see the children, report an absence offline, see it pending then sent`() {
        val login = Robolectric.buildActivity(LoginActivity::class.java).setup().get()
        login.view<EditText>(LoginActivity.CONTACT).setText(Demo.GUARDIAN_EMAIL)
        login.view<Button>(LoginActivity.SEND_CODE).performClick()
        awaitMain(what = "code sent") { login.text(LoginActivity.STATUS) == "Code sent" }
        login.view<EditText>(LoginActivity.CODE).setText(server.loginCode(Demo.GUARDIAN_EMAIL))
        login.view<Button>(LoginActivity.LOG_IN).performClick()
        var next: Intent? = null
        awaitMain(what = "home started") { shadowOf(login).nextStartedActivity?.also { next = it } != null }
        assertEquals(HomeActivity::class.java.name, next!!.component?.className)
        assertTrue(login.isFinishing)

        val home = Robolectric.buildActivity(HomeActivity::class.java, next).setup().get()
        awaitMain(what = "children and today's attendance") {
            home.text(HomeActivity.CHILDREN).lines().size == 2
        }
        val children = home.text(HomeActivity.CHILDREN).lines()
        assertTrue(children.toString(), children[0].startsWith("Emma Nordmann: "))
        assertTrue(children.toString(), children[1].startsWith("Jakob Nordmann: "))
        val unread = KidplanAndroid.session(app).core.threads().sumOf { it.unreadCount.toInt() }
        assertTrue("the demo has unread messages", unread > 0)
        awaitMain(what = "unread count") { home.text(HomeActivity.UNREAD) == "Unread messages: $unread" }
        awaitMain(what = "first sync") { home.text(HomeActivity.SYNC_STATUS) == "Up to date" }
        val absencesBefore = home.text(HomeActivity.ABSENCES)

        server.stop()
        val choice = home.view<RadioGroup>(HomeActivity.CHILD_CHOICE)
        (0 until choice.childCount).map { choice.getChildAt(it) as RadioButton }
            .single { it.tag == Demo.EMMA_ID }.isChecked = true
        val day = home.text(HomeActivity.FIRST_DAY)
        home.view<Button>(HomeActivity.REPORT).performClick()
        awaitMain(what = "saved offline") { home.text(HomeActivity.REPORT_STATUS) == "Saved on this phone" }
        val pendingLine = "Emma, $day to $day, sick: pending"
        awaitMain(what = "pending absence") { home.text(HomeActivity.ABSENCES).lines().contains(pendingLine) }
        home.view<Button>(HomeActivity.SYNC).performClick()
        awaitMain(what = "offline") { home.text(HomeActivity.SYNC_STATUS) == "No connection: try again" }
        assertTrue(home.text(HomeActivity.ABSENCES).lines().contains(pendingLine))

        server.start()
        home.view<Button>(HomeActivity.SYNC).performClick()
        awaitMain(what = "sent") {
            home.text(HomeActivity.ABSENCES).lines().contains("Emma, $day to $day, sick: sent")
        }
        assertTrue(absencesBefore, !absencesBefore.contains("$day to $day, sick"))
        val outbox = KidplanAndroid.session(app).core.outbox()
        assertEquals(listOf(OutboxStatus.Sent), outbox.map { it.status })
    }
}
