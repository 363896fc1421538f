package no.kidplan

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage

/**
 * The FCM entry point, nothing else: each callback is one call into [KidplanPush], which is
 * compiled and tested against the Android framework without the Firebase SDK.
 */
class KidplanMessagingService : FirebaseMessagingService() {
    override fun onNewToken(token: String) {
        KidplanPush(this).onNewToken(token)
    }

    override fun onMessageReceived(message: RemoteMessage) {
        KidplanPush(this).onMessage(message.data)
    }
}
