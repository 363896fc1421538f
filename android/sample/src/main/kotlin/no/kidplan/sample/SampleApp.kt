package no.kidplan.sample

import android.app.Application
import android.content.pm.PackageManager
import no.kidplan.KidplanAndroid

/** The sample's process: points the library at the server named in the manifest. */
class SampleApp : Application() {
    override fun onCreate() {
        super.onCreate()
        val meta = packageManager.getApplicationInfo(packageName, PackageManager.GET_META_DATA).metaData
        val server = meta?.getString(SERVER_URL_KEY) ?: DEFAULT_SERVER
        KidplanAndroid.configure(this, server, VERSION)
    }

    companion object {
        const val SERVER_URL_KEY = "no.kidplan.sample.SERVER_URL"
        const val DEFAULT_SERVER = "http://127.0.0.1:8080"
        const val VERSION = "sample 0.1"
    }
}
