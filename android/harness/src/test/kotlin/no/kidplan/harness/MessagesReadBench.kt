package no.kidplan.harness

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The Kotlin side of the benchmark "a read of 50 messages through the bindings" (issue 13): the
 * same scenario as `messages_read` in `tests/benches/budget` (the demo kindergarten, 60 new
 * staff messages in the guardian's conversation [Demo.CANARY_THREAD_ID], synced), then
 * `messages(thread, null, 50)` through the generated bindings in 40 batches of 50 calls. Writes
 * `kotlin_us=<median µs per call>` to the file in `-Dkidplan.bench.out`.
 *
 * Not part of the test run (the class name matches no Surefire pattern): `scripts/bench` runs it
 * with `-Dtest=MessagesReadBench` against the release library. It asserts nothing about time.
 */
class MessagesReadBench {
    private val http = HttpClient.newHttpClient()

    private fun post(url: String, json: String, token: String? = null): String {
        val b = HttpRequest.newBuilder(URI.create(url))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
        token?.let { b.header("authorization", "Bearer $it") }
        val r = http.send(b.build(), HttpResponse.BodyHandlers.ofString())
        check(r.statusCode() in 200..299) { "POST $url: ${r.statusCode()}" }
        return r.body()
    }

    @Test
    fun `read 50 messages through the bindings`(): Unit = runBlocking {
        ServerProcess().start().use { server ->
            Device(server.baseUrl).use { d ->
                server.login(d)
                d.session.sync()
                val staffEmail = "randi.solberg@example.org"
                post("${server.baseUrl}/v1/auth/code", """{"contact":"$staffEmail"}""")
                val session = post(
                    "${server.baseUrl}/v1/auth/token",
                    """{"contact":"$staffEmail","code":"${server.loginCode(staffEmail)}"}""",
                )
                val token = Regex("\"access_token\":\"([^\"]+)\"").find(session)!!.groupValues[1]
                val thread = Demo.CANARY_THREAD_ID
                repeat(60) { i ->
                    post(
                        "${server.baseUrl}/v1/staff/threads/$thread/messages",
                        """{"body":"Hei! Her er en oppdatering om dagen, nummer $i."}""",
                        token,
                    )
                }
                d.session.sync()
                // 50, or a few more when the 50th shares its timestamp (a page keeps its ties).
                assertTrue(d.core.messages(thread, null, 50u).size >= 50)
                val batches = (0 until 40).map {
                    val t = System.nanoTime()
                    repeat(50) { d.core.messages(thread, null, 50u) }
                    (System.nanoTime() - t) / 50.0 / 1000.0
                }.sorted()
                val us = batches[batches.size / 2]
                println("kotlin read of 50 messages: ${"%.1f".format(us)} µs per call")
                System.getProperty("kidplan.bench.out")?.let { File(it).writeText("kotlin_us=$us\n") }
            }
        }
    }
}
