package no.kidplan.harness

import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

/**
 * A real `kidplan-server` child process on 127.0.0.1 with a seeded demo database in its own
 * temporary directory. [stop] kills it; [start] again reuses the same port and data directory
 * (the "server comes back" half of the offline tests). [extraArgs] go to `serve` (for example
 * `--fault-delay /v1/sync=400`, in builds with the `faults` feature); with [logRequests] the
 * server logs each answered request and [answered] lists their routes, in order.
 */
class ServerProcess(
    val dataDir: Path = Files.createTempDirectory("kidplan-server-"),
    private val extraArgs: List<String> = emptyList(),
    private val logRequests: Boolean = false,
) : AutoCloseable {
    private var process: Process? = null

    /** The route of every request the server answered (from its request log), in order. */
    val answered: MutableList<String> = CopyOnWriteArrayList()

    /** `http://127.0.0.1:<port>`, known after the first [start]. */
    lateinit var baseUrl: String
        private set

    val running: Boolean get() = process?.isAlive == true

    fun start(): ServerProcess {
        check(!running) { "already running" }
        val bind = if (::baseUrl.isInitialized) baseUrl.removePrefix("http://") else "127.0.0.1:0"
        val pb = ProcessBuilder(
            binary.absolutePath, "serve",
            "--bind", bind,
            "--data-dir", dataDir.toString(),
            "--seed-demo",
            *extraArgs.toTypedArray(),
        ).redirectErrorStream(true)
        pb.environment()["NO_COLOR"] = "1"
        pb.environment()["RUST_LOG"] = if (logRequests) "warn,kidplan_server::access=info" else "warn"
        val p = pb.start()
        process = p
        val url = CompletableFuture<String>()
        val log = StringBuilder()
        // Reads the "listening on" line, then keeps draining so the pipe never fills.
        Thread({
            p.inputStream.bufferedReader().useLines { lines ->
                for (line in lines) {
                    synchronized(log) { if (log.length < 20_000) log.appendLine(line) }
                    LISTENING.find(line)?.let { url.complete(it.groupValues[1]) }
                    REQUEST.find(line)?.let { answered.add(it.groupValues[1]) }
                }
            }
            url.completeExceptionally(IllegalStateException("kidplan-server exited:\n$log"))
        }, "kidplan-server-stdout").apply { isDaemon = true }.start()
        val got = url.get(60, TimeUnit.SECONDS)
        if (::baseUrl.isInitialized) check(got == baseUrl) { "restarted on $got, not $baseUrl" }
        baseUrl = got
        return this
    }

    fun stop() {
        val p = process ?: return
        p.destroy()
        if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor()
        process = null
    }

    /** The last login code the server "sent" to [contact], read from its outbox by its CLI. */
    fun loginCode(contact: String): String {
        val p = ProcessBuilder(
            binary.absolutePath, "login-code",
            "--data-dir", dataDir.toString(),
            "--contact", contact,
        ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val out = p.inputStream.bufferedReader().readText().trim()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "login-code failed: $out" }
        check(out.matches(Regex("\\d{6}"))) { "not a login code: $out" }
        return out
    }

    /** A session token of [contact] (staff too), minted by the server's CLI from its database. */
    fun token(contact: String): String {
        val p = ProcessBuilder(
            binary.absolutePath, "token",
            "--db", dataDir.resolve("kidplan.db").toString(),
            "--contact", contact,
        ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val out = p.inputStream.bufferedReader().readText().trim()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "token failed" }
        return out
    }

    override fun close() {
        stop()
        dataDir.toFile().deleteRecursively()
    }

    companion object {
        private val LISTENING = Regex("listening on (http://127\\.0\\.0\\.1:\\d+)")
        private val REQUEST = Regex(" request method=\\S+ route=(\\S+) ")

        /** `target/debug/kidplan-server` (built by android/run-jvm-tests), or -Dkidplan.server.bin. */
        val binary: File by lazy {
            val path = System.getProperty("kidplan.server.bin")
                ?: "${System.getProperty("kidplan.repo.dir") ?: "../.."}/target/debug/kidplan-server"
            File(path).also { require(it.canExecute()) { "no kidplan-server at $it: cargo build -p kidplan-server" } }
        }
    }
}
