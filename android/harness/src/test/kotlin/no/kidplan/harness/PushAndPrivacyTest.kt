package no.kidplan.harness

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import no.kidplan.core.KidplanException
import no.kidplan.core.api.NotificationCategory
import no.kidplan.core.api.PushProvider
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * The calls the platform services make (FirebaseMessagingService, the iOS notification service
 * extension) and the privacy export, through the bindings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PushAndPrivacyTest {
    private val server = ServerProcess().start()

    @AfterAll
    fun stopServer() = server.close()

    @Test
    fun `a push data map becomes the notification the core builds from its cache`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            d.core.setPushToken(PushProvider.FCM, "fcm-token-jvm-harness-1")
            d.core.setPushToken(PushProvider.FCM, "fcm-token-jvm-harness-1") // unchanged: no-op

            val message = d.core.messages(Demo.CANARY_THREAD_ID, null, 100u)
                .map { it.message }
                .single { it.body.contains("Emma blir hentet") }
            // The FCM data map as FirebaseMessagingService hands it over (values are strings).
            val payload = """{"v":"1","kind":"sync","hint":"message/${message.id}"}"""
            val n = d.core.handlePush(payload)!!
            assertEquals(NotificationCategory.MESSAGES, n.category)
            assertEquals(Demo.CANARY_THREAD_ID, n.threadId)
            assertTrue(n.title.isNotBlank())
            assertTrue(n.body.contains("Emma blir hentet"), n.body)

            // Not a Kidplan push: nothing to show, no exception.
            assertNull(d.core.handlePush("not json"))
            assertNull(d.core.handlePush("""{"v":"2","kind":"sync"}"""))
            // A hint that is not a plain id is ignored (whatever is shown names no path).
            val odd = d.core.handlePush("""{"v":"1","kind":"sync","hint":"message/../../etc"}""")
            assertTrue(odd == null || !odd.body.contains("etc"), "$odd")
        }
    }

    @Test
    fun `a child's profile picture is a typed record and a cached file through the bindings`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            assertThrows<KidplanException.NotFound> { runBlocking { d.core.childPicture(Demo.JAKOB_ID) } }

            // Staff set Jakob's picture (the smallest JPEG the server reads: one scan) over HTTP.
            val jpeg = byteArrayOf(0xFF.toByte(), 0xD8.toByte(), 0xFF.toByte(), 0xDA.toByte(), 0, 2, 1, 2, 3, 0xFF.toByte(), 0xD9.toByte())
            val request = HttpRequest.newBuilder(URI.create("${server.baseUrl}/v1/staff/children/${Demo.JAKOB_ID}/picture"))
                .header("Authorization", "Bearer ${server.token(Demo.STAFF_EMAIL)}")
                .header("Content-Type", "image/jpeg")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(jpeg))
                .build()
            val answer = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
            assertEquals(200, answer.statusCode(), answer.body())

            d.session.sync()
            val picture = d.core.children().single { it.id == Demo.JAKOB_ID }.picture!!
            assertEquals(jpeg.size.toULong(), picture.sizeBytes)
            val file = File(d.core.childPicture(Demo.JAKOB_ID))
            assertTrue(file.readBytes().contentEquals(jpeg))
        }
    }

    @Test
    fun `export my data writes a JSON file with the guardian's children`(): Unit = runBlocking {
        Device(server.baseUrl).use { d ->
            server.login(d)
            d.session.sync()
            val dir = Files.createTempDirectory("kidplan-export-")
            try {
                val summary = d.core.exportMyData(dir.toString())
                val text = File(summary.path).readText()
                assertTrue(File(summary.path).parentFile.canonicalPath == dir.toFile().canonicalPath)
                assertTrue(summary.sections.isNotEmpty())
                assertTrue(text.contains("Emma") && text.contains("Jakob"))
                assertTrue(!text.contains("Canaryx"), "another family's child must not be exported")
            } finally {
                dir.toFile().deleteRecursively()
            }
            // Telemetry: switching off leaves nothing to preview.
            d.core.setTelemetryEnabled(false)
            assertEquals(false, d.core.telemetryEnabled())
            assertNull(d.core.telemetryPreview())
        }
    }
}
