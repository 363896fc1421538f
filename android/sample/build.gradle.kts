// The sample app: the Kidplan library as an app embeds it, on framework views only (no AndroidX).
// ../framework-tests compiles src/main/kotlin against the Android 16 framework jar and drives it
// end to end under Robolectric against a real kidplan-server.

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "no.kidplan.sample"
    compileSdk = 36

    defaultConfig {
        applicationId = "no.kidplan.sample"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1"
    }

    sourceSets["main"].java.srcDirs("src/main/kotlin")

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation(project(":kidplan"))
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
}
