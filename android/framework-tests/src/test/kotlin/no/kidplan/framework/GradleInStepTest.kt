package no.kidplan.framework

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.junit.Assert.assertEquals
import org.junit.Test
import org.w3c.dom.Element

/**
 * Gradle stays the real build: the library's and the sample's Gradle files name the same sources
 * and the same library versions as this module compiles (the FCM adapter and the Firebase SDK
 * apart). Plain JUnit: no framework needed.
 */
class GradleInStepTest {
    private val repo = File(System.getProperty("kidplan.repo.dir") ?: "../..").canonicalFile
    private val pom = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(File(repo, "android/framework-tests/pom.xml"))

    /** The pom's main source directories, relative to the repository. */
    private fun pomSources(): Set<String> {
        val executions = pom.getElementsByTagName("execution")
        val compile = (0 until executions.length).map { executions.item(it) as Element }
            .single { it.getElementsByTagName("id").item(0).textContent == "compile" }
        val dirs = compile.getElementsByTagName("sourceDir")
        return (0 until dirs.length).map { dirs.item(it).textContent.trim().removePrefix("\${repo.dir}/") }.toSet()
    }

    private fun pomVersion(artifact: String): String {
        val deps = pom.getElementsByTagName("dependency")
        val dep = (0 until deps.length).map { deps.item(it) as Element }
            .single { it.getElementsByTagName("artifactId").item(0).textContent == artifact }
        val v = dep.getElementsByTagName("version").item(0).textContent.trim()
        val prop = Regex("""\$\{(.+)}""").matchEntire(v)?.groupValues?.get(1) ?: return v
        return pom.getElementsByTagName(prop).item(0).textContent.trim()
    }

    /** `group:artifact` to version of every `implementation("g:a:v")` in [gradle]. */
    private fun gradleDeps(gradle: String): Map<String, String> =
        Regex("""implementation\("([^:"]+):([^:"]+):([^"@]+)(@aar)?"\)""").findAll(File(repo, gradle).readText())
            .associate { "${it.groupValues[1]}:${it.groupValues[2]}" to it.groupValues[3] }

    @Test
    fun `the library and the sample compile the sources compiled here`() {
        val library = Regex("""java\.srcDirs\(([^)]*)\)""").find(File(repo, "android/kidplan/build.gradle.kts").readText())!!
            .groupValues[1].split(",").map { it.trim().trim('"') }
            .filter { it.startsWith("src/") }
            .map { "android/kidplan/$it" }
            .toSet()
        val sample = Regex("""java\.srcDirs\(([^)]*)\)""").find(File(repo, "android/sample/build.gradle.kts").readText())!!
            .groupValues[1].split(",").map { "android/sample/" + it.trim().trim('"') }
            .toSet()
        val gradle = library + sample - "android/kidplan/src/fcm/kotlin" + "bindings/out/kotlin"
        assertEquals(gradle, pomSources())
    }

    @Test
    fun `with the same versions of the same libraries`() {
        // Firebase (versioned by its BOM) is for src/fcm only.
        val library = gradleDeps("android/kidplan/build.gradle.kts")
        assertEquals(
            mapOf(
                "net.java.dev.jna:jna" to pomVersion("jna"),
                "org.jetbrains.kotlinx:kotlinx-coroutines-android" to pomVersion("kotlinx-coroutines-android"),
            ),
            library,
        )
        assertEquals(
            mapOf("org.jetbrains.kotlinx:kotlinx-coroutines-android" to pomVersion("kotlinx-coroutines-android")),
            gradleDeps("android/sample/build.gradle.kts"),
        )
    }
}
