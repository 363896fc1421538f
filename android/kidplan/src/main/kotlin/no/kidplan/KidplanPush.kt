package no.kidplan

import android.content.Context
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import no.kidplan.core.KidplanException
import no.kidplan.core.api.PushProvider
import org.json.JSONObject

/**
 * What the app's push service hands to the core: a new FCM token, and a data message as the
 * string map FCM delivers. The push carries no personal data (`v`, `kind`, an opaque `hint`);
 * the core runs a bounded sync and builds the notification text from its own cache, in the
 * app's language; this class posts it.
 *
 * Both calls block (FCM runs its callbacks on a background thread and keeps the process alive
 * only briefly), each bounded by [timeoutMs]. Neither lets a core error or a timeout escape;
 * calling them before [KidplanAndroid.configure] is a programming error and throws.
 */
class KidplanPush(
    context: Context,
    private val timeoutMs: Long = TIMEOUT_MS,
    private val session: () -> KidplanSession = { KidplanAndroid.session(context) },
) {
    private val context: Context = context.applicationContext ?: context

    /** What became of one data message. */
    enum class Outcome {
        /** A notification is on screen. */
        POSTED,

        /** The core found nothing to show (a silent sync, muted category, or an unknown push). */
        NOTHING_TO_SHOW,

        /** Built, but the app may not post notifications (Android 13+ permission, or switched off). */
        NOT_ALLOWED,

        /** The core failed or ran out of time; the next sync catches up. */
        FAILED,
    }

    /** Registers [token] with the server through the core (offline: with the next sync). */
    fun onNewToken(token: String) {
        val kidplan = session()
        runBlocking {
            withTimeoutOrNull(timeoutMs) {
                try {
                    kidplan.core.setPushToken(PushProvider.FCM, token)
                } catch (_: KidplanException) {
                    // Not logged in, or offline: the core registers the token at the next login/sync.
                }
            }
        }
    }

    /** Hands the data message to the core and posts the notification it builds. */
    fun onMessage(data: Map<String, String>): Outcome {
        val payload = JSONObject(data).toString()
        val kidplan = session()
        val built = runBlocking {
            withTimeoutOrNull(timeoutMs) {
                try {
                    Result.success(kidplan.core.handlePush(payload))
                } catch (e: KidplanException) {
                    Result.failure(e)
                }
            }
        }
        if (built == null || built.isFailure) return Outcome.FAILED
        val notification = built.getOrNull() ?: return Outcome.NOTHING_TO_SHOW
        return if (NotificationChannels.post(context, notification)) Outcome.POSTED else Outcome.NOT_ALLOWED
    }

    private companion object {
        /** FCM gives a data message about 20 s; leave room to post. */
        const val TIMEOUT_MS = 15_000L
    }
}
