package no.kidplan.framework

import android.os.Looper
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.sql.DriverManager
import java.util.UUID
import java.util.concurrent.TimeUnit
import no.kidplan.harness.ServerProcess
import org.json.JSONObject
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.internal.bytecode.InstrumentationConfiguration

/**
 * Robolectric with the native side kept out of the sandbox's class loader: JNA and the SQLite
 * JDBC driver load a JNI library once per JVM, so they are loaded once, by the test's own loader.
 */
class KidplanTestRunner(testClass: Class<*>) : RobolectricTestRunner(testClass) {
    override fun createClassLoaderConfig(method: org.junit.runners.model.FrameworkMethod): InstrumentationConfiguration =
        InstrumentationConfiguration.Builder(super.createClassLoaderConfig(method))
            .doNotAcquirePackage("com.sun.jna.")
            .doNotAcquirePackage("org.sqlite.")
            .build()
}

/** The seeded demo kindergarten (server/src/seed.rs). */
object Demo {
    const val GUARDIAN_EMAIL = "kari.nordmann@example.org"
    const val STAFF_EMAIL = "randi.solberg@example.org"
    const val EMMA_ID = "90c192cf-d3ac-44af-8f21-ddb66cad4a26"
    const val JAKOB_ID = "a170b338-3926-4059-b28c-105d1fb17c23"
    /** A thread of Kari's about Emma. */
    const val EMMA_THREAD_ID = "ae97ba94-d0ed-482f-8f6d-05584ef8aa38"
}

/**
 * Runs the main looper until [done] holds (coroutines on `Dispatchers.Main` resume there), while
 * the core works on its own threads; fails after [timeoutMs].
 */
fun awaitMain(timeoutMs: Long = 20_000, what: String = "condition", done: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs)
    while (true) {
        shadowOf(Looper.getMainLooper()).idle()
        if (done()) return
        check(System.nanoTime() < deadline) { "timed out waiting for $what" }
        Thread.sleep(20)
    }
}

/** The staff side of the seeded kindergarten, over the server's HTTP API. */
class Staff(private val server: ServerProcess, contact: String = Demo.STAFF_EMAIL) {
    private val http = HttpClient.newHttpClient()
    private val token: String = run {
        val p = ProcessBuilder(
            ServerProcess.binary.absolutePath, "token",
            "--contact", contact,
            "--db", server.dataDir.resolve("kidplan.db").toString(),
        ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val out = p.inputStream.bufferedReader().readText().trim()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "token failed" }
        out
    }

    /** Adds an event for the whole kindergarten at [startsAtMs], one hour long; returns its id. */
    fun createEvent(title: String, startsAtMs: Long): String = post(
        "/v1/staff/events",
        JSONObject(mapOf("title" to title, "starts_at" to startsAtMs, "ends_at" to startsAtMs + 3_600_000)),
    ).getString("id")

    /** Posts a message from staff in [threadId]; returns the new message's id. */
    fun postMessage(threadId: String, body: String): String =
        post("/v1/staff/threads/$threadId/messages", JSONObject(mapOf("body" to body))).getString("id")

    private fun post(path: String, body: JSONObject): JSONObject {
        val request = HttpRequest.newBuilder(URI.create("${server.baseUrl}$path"))
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", UUID.randomUUID().toString())
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "staff $path: HTTP ${response.statusCode()}" }
        return JSONObject(response.body())
    }
}

/**
 * The push payloads the server handed to its FCM sender for [token], oldest first, as FCM would
 * deliver them: the `data` map of string values (the server's push outbox, read from its
 * database).
 */
fun ServerProcess.pushesTo(token: String): List<Map<String, String>> {
    val db = dataDir.resolve("kidplan.db")
    DriverManager.getConnection("jdbc:sqlite:$db").use { c ->
        c.prepareStatement("SELECT payload FROM push_outbox WHERE provider = 'fcm' AND token = ? ORDER BY id").use { st ->
            st.setString(1, token)
            st.executeQuery().use { rows ->
                val out = mutableListOf<Map<String, String>>()
                while (rows.next()) {
                    val payload = JSONObject(String(rows.getBytes(1), Charsets.UTF_8))
                    out += dataMap(payload)
                }
                return out
            }
        }
    }
}

/** The string map under `message.data` of an FCM v1 request (or the object itself). */
private fun dataMap(payload: JSONObject): Map<String, String> {
    val data = payload.optJSONObject("message")?.optJSONObject("data") ?: payload.optJSONObject("data") ?: payload
    return data.keys().asSequence().associateWith { data.get(it).toString() }
}
