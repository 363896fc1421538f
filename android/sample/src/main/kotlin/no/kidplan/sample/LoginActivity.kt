package no.kidplan.sample

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import no.kidplan.KidplanAndroid
import no.kidplan.core.KidplanException

/**
 * Log in with a one-time code: the parent types an e-mail address, the server sends a code, the
 * parent types it. Already logged in (or opened from a notification), it goes straight home.
 */
class LoginActivity : Activity() {
    private val scope = MainScope()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val session = KidplanAndroid.session(this)
        if (session.core.activeAccount() != null) {
            openHome()
            return
        }
        val screen = Screen(this)
        screen.text("login.title", "Log in to Kidplan", 22f)
        if (KidplanAndroid.secretsLost()) screen.text("login.lost", "This phone lost its keys: please log in again.")
        val contact = screen.field(CONTACT, "E-mail or phone")
        val status = screen.text(STATUS)
        screen.button(SEND_CODE, "Send code") {
            scope.launch {
                status.text = try {
                    session.requestLoginCode(contact.text.toString().trim())
                    "Code sent"
                } catch (e: KidplanException) {
                    describe(e)
                }
            }
        }
        val code = screen.field(CODE, "Code")
        screen.button(LOG_IN, "Log in") {
            scope.launch {
                try {
                    session.verifyLoginCode(contact.text.toString().trim(), code.text.toString().trim())
                    openHome()
                } catch (e: KidplanException) {
                    status.text = describe(e)
                }
            }
        }
        screen.show()
    }

    private fun openHome() {
        // A notification's tap extras (kind and id) travel on to the home screen.
        startActivity(Intent(this, HomeActivity::class.java).putExtras(intent.extras ?: Bundle()))
        finish()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        const val CONTACT = "login.contact"
        const val CODE = "login.code"
        const val SEND_CODE = "login.send"
        const val LOG_IN = "login.submit"
        const val STATUS = "login.status"
    }
}

/** A short, data-free text for an error of the core (its kind only). */
internal fun describe(e: KidplanException): String = when (e) {
    is KidplanException.Offline -> "No connection: try again"
    is KidplanException.SessionExpired -> "Please log in again"
    is KidplanException.InvalidInput -> "Please check what you typed"
    is KidplanException.RateLimited -> "Too many tries: wait a little"
    else -> "Something went wrong (${e::class.simpleName})"
}
