package no.kidplan.framework

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import no.kidplan.KidplanAndroid
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.w3c.dom.Element

/**
 * Where the library keeps things on the phone, against the backup rules the app ships: the core's
 * data in `noBackupFilesDir`, the vault's ciphertexts in one SharedPreferences file, and both
 * excluded from cloud backup and device transfer in both rule formats.
 */
@RunWith(KidplanTestRunner::class)
class BackupRulesTest : AppOnServer() {
    private val repo = File(System.getProperty("kidplan.repo.dir") ?: "../..")
    private val res = File(repo, "android/kidplan/src/main/res/xml")

    /** (domain, path) of every `exclude` under [section] of [file] (the root when null). */
    private fun excludes(file: File, section: String?): Set<Pair<String, String>> {
        val doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file)
        val scope = if (section == null) doc.documentElement else doc.getElementsByTagName(section).item(0) as Element
        val nodes = scope.getElementsByTagName("exclude")
        return (0 until nodes.length).map { nodes.item(it) as Element }
            .map { it.getAttribute("domain") to it.getAttribute("path") }
            .toSet()
    }

    @Test
    fun `the core writes only under noBackupFilesDir, the vault one preferences file, both excluded`() {
        loggedIn()
        val dataDir = KidplanAndroid.dataDir(app)
        assertTrue(dataDir.startsWith(app.noBackupFilesDir))
        assertTrue("the core wrote its databases there", dataDir.walk().any { it.name.endsWith(".db") })

        // Everything new in the app's data directory after a login and a sync.
        val written = app.dataDir.walk().filter { it.isFile }.map { it.relativeTo(app.dataDir).path }.toList()
        val prefs = written.filter { it.startsWith("shared_prefs/") }
        assertEquals(listOf("shared_prefs/no.kidplan.secrets.xml"), prefs)
        val outside = written.filterNot { it.startsWith("no_backup/kidplan/") || it in prefs }
        assertEquals(emptyList<String>(), outside)

        val expected = setOf(
            "sharedpref" to prefs.single().removePrefix("shared_prefs/"),
            "root" to dataDir.relativeTo(app.dataDir).path,
        )
        val rules = File(res, "kidplan_backup_rules.xml")
        for (section in listOf("cloud-backup", "device-transfer")) {
            assertTrue("$section: ${excludes(rules, section)}", excludes(rules, section).containsAll(expected))
        }
        val legacy = File(res, "kidplan_full_backup_rules.xml")
        assertTrue("full-backup-content", excludes(legacy, null).containsAll(expected))
    }

    @Test
    fun `the sample app's manifest points both backup attributes at the library's rules`() {
        val manifest = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
            .newDocumentBuilder().parse(File(repo, "android/sample/src/main/AndroidManifest.xml"))
        val application = manifest.getElementsByTagName("application").item(0) as Element
        val ns = "http://schemas.android.com/apk/res/android"
        assertEquals("@xml/kidplan_backup_rules", application.getAttributeNS(ns, "dataExtractionRules"))
        assertEquals("@xml/kidplan_full_backup_rules", application.getAttributeNS(ns, "fullBackupContent"))
        for (name in listOf("kidplan_backup_rules", "kidplan_full_backup_rules")) {
            assertTrue(name, File(res, "$name.xml").isFile)
        }
    }
}
