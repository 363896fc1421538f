package no.kidplan.framework

import android.app.NotificationManager
import no.kidplan.NotificationChannels
import no.kidplan.core.api.NotificationCategory
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

/** The channels as the system settings list them, in the device's language. */
@RunWith(KidplanTestRunner::class)
class NotificationChannelsTest {
    private val app get() = RuntimeEnvironment.getApplication()
    private val manager get() = app.getSystemService(NotificationManager::class.java)

    /** name and description of each channel, by id. */
    private fun channels(): Map<String, Pair<String, String>> =
        manager.notificationChannels.associate { it.id to (it.name.toString() to it.description) }

    @Test
    @Config(qualifiers = "nb")
    fun `bokmål names, one channel per category`() {
        NotificationChannels.create(app)
        val c = channels()
        assertEquals(NotificationCategory.entries.map { "kidplan.${it.name.lowercase()}" }.toSet(), c.keys)
        assertEquals("Meldinger" to "Nye meldinger fra barnehagen", c["kidplan.messages"])
        assertEquals("Fravær bekreftet", c["kidplan.absence_acknowledged"]?.first)
        assertEquals("Viktige varsler", c["kidplan.urgent"]?.first)
        assertEquals("Bilder", c["kidplan.photos"]?.first)
    }

    @Test
    @Config(qualifiers = "nn")
    fun `nynorsk names`() {
        NotificationChannels.create(app)
        val c = channels()
        assertEquals("Meldingar" to "Nye meldingar frå barnehagen", c["kidplan.messages"])
        assertEquals("Fråvær stadfesta", c["kidplan.absence_acknowledged"]?.first)
        assertEquals("Viktige varsel", c["kidplan.urgent"]?.first)
        assertEquals("Bilete", c["kidplan.photos"]?.first)
    }

    @Test
    @Config(qualifiers = "en")
    fun `English names, and renamed when the device switches to bokmål`() {
        NotificationChannels.create(app)
        assertEquals("Messages" to "New messages from the kindergarten", channels()["kidplan.messages"])
        assertEquals("Urgent alerts", channels()["kidplan.urgent"]?.first)

        RuntimeEnvironment.setQualifiers("nb")
        NotificationChannels.create(app)
        assertEquals("Meldinger", channels()["kidplan.messages"]?.first)
        assertEquals(NotificationCategory.entries.size, manager.notificationChannels.size)
    }

    @Test
    @Config(qualifiers = "de")
    fun `another language falls back to English`() {
        NotificationChannels.create(app)
        assertEquals("Child log", channels()["kidplan.child_log"]?.first)
    }

    @Test
    fun `urgent alerts interrupt, every other category stays below them`() {
        NotificationChannels.create(app)
        val importance = manager.notificationChannels.associate { it.id to it.importance }
        assertEquals(NotificationManager.IMPORTANCE_HIGH, importance["kidplan.urgent"])
        for ((id, level) in importance - "kidplan.urgent") {
            assertTrue("$id at $level", level in NotificationManager.IMPORTANCE_LOW..NotificationManager.IMPORTANCE_DEFAULT)
        }
    }
}
