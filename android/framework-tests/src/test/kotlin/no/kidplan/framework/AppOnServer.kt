package no.kidplan.framework

import android.Manifest
import android.app.Application
import android.app.NotificationManager
import android.content.ComponentName
import android.content.Intent
import android.content.IntentFilter
import kotlinx.coroutines.runBlocking
import no.kidplan.KidplanAndroid
import no.kidplan.KidplanSession
import no.kidplan.harness.ServerProcess
import no.kidplan.sample.LoginActivity
import org.junit.After
import org.junit.Before
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

/**
 * A test's Android app (the framework as Robolectric runs it) on a real `kidplan-server` with the
 * demo kindergarten, the library configured as `Application.onCreate` would, the Keystore stand-in
 * installed and the sample's launcher activity registered (what its manifest declares).
 */
abstract class AppOnServer {
    lateinit var server: ServerProcess
    lateinit var app: Application

    @Before
    fun startAppAndServer() {
        TestKeyStore.install()
        server = ServerProcess().start()
        app = RuntimeEnvironment.getApplication()
        KidplanAndroid.configure(app, server.baseUrl, "framework-tests")
        val launcher = ComponentName(app, LoginActivity::class.java)
        shadowOf(app.packageManager).apply {
            addActivityIfNotPresent(launcher)
            addIntentFilterForActivity(
                launcher,
                IntentFilter(Intent.ACTION_MAIN).apply { addCategory(Intent.CATEGORY_LAUNCHER) },
            )
        }
    }

    @After
    fun stopAppAndServer() {
        KidplanAndroid.close()
        server.close()
    }

    val notifications: NotificationManager get() = app.getSystemService(NotificationManager::class.java)

    fun grantNotifications(granted: Boolean) {
        val shadow = shadowOf(app)
        if (granted) shadow.grantPermissions(Manifest.permission.POST_NOTIFICATIONS)
        else shadow.denyPermissions(Manifest.permission.POST_NOTIFICATIONS)
    }

    /** The process-wide session, logged in as Kari and synced once. */
    fun loggedIn(): KidplanSession = KidplanAndroid.session(app).also { session ->
        runBlocking {
            session.requestLoginCode(Demo.GUARDIAN_EMAIL)
            session.verifyLoginCode(Demo.GUARDIAN_EMAIL, server.loginCode(Demo.GUARDIAN_EMAIL))
            session.sync()
        }
    }
}
