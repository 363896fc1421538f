package no.kidplan

import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.transform
import kotlinx.coroutines.withContext
import no.kidplan.core.AbsenceView
import no.kidplan.core.Account
import no.kidplan.core.ChangeListener
import no.kidplan.core.Collection
import no.kidplan.core.Config
import no.kidplan.core.Kidplan
import no.kidplan.core.KidplanException
import no.kidplan.core.OutboxItem
import no.kidplan.core.SecretStore
import no.kidplan.core.Subscription
import no.kidplan.core.SyncReport
import no.kidplan.core.ThreadSummary
import no.kidplan.core.api.Child

/**
 * The Kotlin face of the Kidplan core for screens: the generated [Kidplan] object plus
 * collections as [StateFlow]s that the core's [ChangeListener] keeps fresh.
 *
 * Thin on purpose: every rule lives in the core. This class only turns change notifications
 * into flows and moves blocking calls (SQLite reads and writes) off the caller's thread. Dates
 * and instants arrive typed from the bindings (`java.time.LocalDate`, `java.time.Instant`), and
 * actions take the core's request records (`AbsenceReport`, `HolidayRegistration`, ...).
 * Anything not wrapped here is on [core]; run it off the main thread with [call].
 *
 * Platform-neutral: compiled into the Android library and into the JVM test harness.
 */
class KidplanSession(
    /** The generated core object; every call of the core is on it. */
    val core: Kidplan,
    /** Where the flows are kept up to date; cancelled by [close]. */
    private val scope: CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default),
    /** Where blocking core calls run. */
    private val io: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {

    companion object {
        /** Opens the core on [dataDir]; see `Kidplan.open`. */
        fun open(
            dataDir: String,
            config: Config,
            secrets: SecretStore,
            scope: CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default),
        ): KidplanSession = KidplanSession(Kidplan.open(dataDir, config, secrets), scope)
    }

    /** Kotlin-side subscribers, fed by the one listener registered with the core. */
    private val taps = CopyOnWriteArrayList<(Set<Collection>) -> Unit>()

    /** Called on a core thread: only hands the change to the taps (non-blocking sends). */
    private val listener = object : ChangeListener {
        override fun onChange(collections: List<Collection>) {
            val changed = collections.toSet()
            for (tap in taps) {
                try {
                    tap(changed)
                } catch (_: Throwable) {
                    // A broken subscriber must not disturb the core's thread.
                }
            }
        }
    }

    /** Keeps [listener] subscribed until [close]. */
    private val subscription: Subscription = core.subscribe(listener)

    private val errorFlow = MutableSharedFlow<KidplanException>(
        extraBufferCapacity = 16,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /** Errors of the background reads behind the flows (for example `Storage` for a corrupt cache). */
    val errors: SharedFlow<KidplanException> = errorFlow.asSharedFlow()

    /** Every change notification touching one of [on] (any, when empty). */
    fun changes(vararg on: Collection): Flow<Set<Collection>> {
        val wanted = on.toSet()
        return callbackFlow {
            val tap: (Set<Collection>) -> Unit = { changed ->
                if (wanted.isEmpty() || changed.any { it in wanted }) trySend(changed)
            }
            taps.add(tap)
            awaitClose { taps.remove(tap) }
        }.buffer(Channel.UNLIMITED)
    }

    /**
     * Runs [read] now and again after every change of one of [on] (or of the active account).
     * Changes arriving while a read runs are conflated into one more read, so a burst of sync
     * pages costs a couple of reads, not one per page. A failed read is reported on [errors] and
     * emits nothing.
     */
    fun <T> observe(vararg on: Collection, read: Kidplan.() -> T): Flow<T> {
        val wanted = on.toSet() + Collection.ACCOUNT
        return callbackFlow {
            val tap: (Set<Collection>) -> Unit = { changed ->
                if (changed.any { it in wanted }) trySend(Unit)
            }
            taps.add(tap)
            trySend(Unit) // the first read, after subscribing so no change is missed
            awaitClose { taps.remove(tap) }
        }.buffer(Channel.CONFLATED)
            .transform {
                val value = try {
                    Result.success(core.read())
                } catch (e: KidplanException) {
                    errorFlow.tryEmit(e)
                    Result.failure(e)
                }
                if (value.isSuccess) emit(value.getOrThrow())
            }
            .flowOn(io)
    }

    private fun <T> state(initial: T, vararg on: Collection, read: Kidplan.() -> T): StateFlow<T> =
        observe(*on, read = read).stateIn(scope, SharingStarted.Eagerly, initial)

    /** The account reads and actions apply to; `null` when logged out. */
    val account: StateFlow<Account?> = state(null) { activeAccount() }

    /** The active account's children. */
    val children: StateFlow<List<Child>> = state(emptyList(), Collection.CHILDREN) { children() }

    /** Message threads with unread counts, most recent first. */
    val threads: StateFlow<List<ThreadSummary>> =
        state(emptyList(), Collection.THREADS, Collection.MESSAGES) { threads() }

    /** Absence reports of every child, with their local state (pending until sent). */
    val absences: StateFlow<List<AbsenceView>> =
        state(emptyList(), Collection.ABSENCES) { absences(null) }

    /** Queued actions with their status, oldest first. */
    val outbox: StateFlow<List<OutboxItem>> = state(emptyList(), Collection.OUTBOX) { outbox() }

    // ----- network (already suspend in the bindings; the core runs them on its own runtime) -----

    suspend fun requestLoginCode(contact: String) = core.requestLoginCode(contact)

    suspend fun verifyLoginCode(contact: String, code: String): Account =
        core.verifyLoginCode(contact, code)

    suspend fun logout() = core.logout()

    suspend fun sync(): SyncReport = core.sync()

    // ----- blocking calls, off the caller's thread -----

    /** Runs any blocking core call (a cache read or an outbox action) on the IO dispatcher. */
    suspend fun <T> call(block: Kidplan.() -> T): T = withContext(io) { core.block() }

    /** Stops the flows and unsubscribes; then releases the native object. */
    override fun close() {
        subscription.close()
        taps.clear()
        scope.cancel()
        core.close()
    }
}
