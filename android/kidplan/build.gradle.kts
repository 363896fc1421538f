// Android library: the Kotlin shell over the Rust core (libkidplan_ffi.so via JNA + uniffi bindings).
// Native libraries come from cargo-ndk; the Kotlin bindings from bindings/generate. Neither is committed.
// Sources (the same directories ../framework-tests compiles against the Android 16 framework jar):
//   src/commonMain/kotlin  platform-neutral shell, also compiled and tested by ../harness on the JVM
//   src/main/kotlin        Android only: Keystore secret vault, notification channels, push, glue
//   src/fcm/kotlin         the FCM adapter (KidplanMessagingService), the one source that needs the
//                          Firebase SDK; not compiled by ../framework-tests (Google's repository)
// Notifications use the framework's Notification.Builder/NotificationChannel (minSdk 26): no AndroidX.

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoDir: File = rootProject.projectDir.parentFile
val jniLibsDir = layout.buildDirectory.dir("rustJniLibs")
val bindingsDir = File(repoDir, "bindings/out/kotlin")
val cargoProfile = (findProperty("kidplan.cargoProfile") as String?) ?: "release"

android {
    namespace = "no.kidplan"
    compileSdk = 36

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    sourceSets["main"].apply {
        java.srcDirs("src/commonMain/kotlin", "src/main/kotlin", "src/fcm/kotlin", bindingsDir)
        jniLibs.srcDir(jniLibsDir)
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    // As ../framework-tests/pom.xml declares them (there: the plain JNA jar; here: its AAR with
    // the Android native dispatch libraries); GradleInStepTest checks the versions.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    // Only src/fcm needs it. The app applies the google-services plugin with its own
    // google-services.json; the library only needs the SDK.
    implementation(platform("com.google.firebase:firebase-bom:34.6.0"))
    implementation("com.google.firebase:firebase-messaging")
}

// cargo-ndk builds libkidplan_ffi.so for each ABI into build/rustJniLibs/<abi>/.
val cargoNdk by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds kidplan-ffi for Android ABIs with cargo-ndk."
    workingDir = repoDir
    val args = mutableListOf(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibsDir.get().asFile.absolutePath,
        "build", "-p", "kidplan-ffi", "--lib",
    )
    if (cargoProfile == "release") args += "--release"
    commandLine(args)
}

// Host build + uniffi-bindgen: writes bindings/out/kotlin (the generated code is ABI-independent).
val generateBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings from a host build of kidplan-ffi."
    workingDir = repoDir
    commandLine("bash", "bindings/generate")
    dependsOn(cargoNdk)
}

tasks.named("preBuild") { dependsOn(generateBindings) }
