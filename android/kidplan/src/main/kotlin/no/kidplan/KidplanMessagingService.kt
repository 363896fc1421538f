package no.kidplan

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import no.kidplan.core.KidplanException
import no.kidplan.core.api.PushProvider
import org.json.JSONObject

/**
 * Hands FCM events to the core. The push carries no personal data (`{"v":"1","kind":"sync",
 * "hint":..}`); the core runs a bounded sync and builds the notification text from its own
 * cache, in the app's language. Both callbacks run on a background thread that FCM keeps alive
 * only briefly, so they block with a timeout.
 */
class KidplanMessagingService : FirebaseMessagingService() {
    override fun onNewToken(token: String) {
        val session = KidplanAndroid.session(this)
        runBlocking {
            withTimeoutOrNull(TIMEOUT_MS) {
                try {
                    // Offline, the core keeps the registration and sends it with the next sync.
                    session.core.setPushToken(PushProvider.FCM, token)
                } catch (_: KidplanException) {
                    // Not logged in yet: the core registers the token at the next login/sync.
                }
            }
        }
    }

    override fun onMessageReceived(message: RemoteMessage) {
        val payload = JSONObject().apply { message.data.forEach { (k, v) -> put(k, v) } }.toString()
        val session = KidplanAndroid.session(this)
        val notification = runBlocking {
            withTimeoutOrNull(TIMEOUT_MS) {
                try {
                    session.core.handlePush(payload)
                } catch (_: KidplanException) {
                    null
                }
            }
        } ?: return
        NotificationChannels.post(this, notification)
    }

    private companion object {
        /** FCM gives a data message about 20 s; leave room to post. */
        const val TIMEOUT_MS = 15_000L
    }
}
