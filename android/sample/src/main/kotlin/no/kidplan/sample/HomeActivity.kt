package no.kidplan.sample

import android.app.Activity
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Spinner
import java.time.LocalDate
import java.time.format.DateTimeParseException
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.launch
import no.kidplan.KidplanAndroid
import no.kidplan.NotificationChannels.OpenTarget
import no.kidplan.core.AbsenceReport
import no.kidplan.core.AbsenceView
import no.kidplan.core.Collection
import no.kidplan.core.KidplanException
import no.kidplan.core.LocalState
import no.kidplan.core.api.AbsenceReason
import no.kidplan.core.api.AttendanceState
import no.kidplan.core.api.Child

/**
 * The home screen: the children with today's attendance, unread messages, the absences with
 * their state on this phone (pending until sent), and a form to report an absence. Reading is
 * from the core's cache (works offline); a sync runs on open and on demand.
 */
class HomeActivity : Activity() {
    private val scope = MainScope()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val session = KidplanAndroid.session(this)
        val screen = Screen(this)
        screen.text("home.title", "Kidplan", 22f)
        OpenTarget.from(intent)?.let { screen.text(OPENED, "Opened from a notification: ${it.kind}") }
        val children = screen.text(CHILDREN)
        val unread = screen.text(UNREAD)
        val absences = screen.text(ABSENCES)
        val syncStatus = screen.text(SYNC_STATUS)

        screen.text("home.report.title", "Report an absence", 18f)
        val childChoice = screen.add(RadioGroup(this), CHILD_CHOICE)
        val tomorrow = LocalDate.now().plusDays(1).toString()
        val firstDay = screen.field(FIRST_DAY, "First day (YYYY-MM-DD)", tomorrow)
        val lastDay = screen.field(LAST_DAY, "Last day (YYYY-MM-DD)", tomorrow)
        val reasons = listOf(AbsenceReason.SICK, AbsenceReason.APPOINTMENT, AbsenceReason.FAMILY, AbsenceReason.OTHER)
        val reason = screen.add(Spinner(this), REASON).apply {
            adapter = ArrayAdapter(
                this@HomeActivity,
                android.R.layout.simple_spinner_item,
                reasons.map { it.name.lowercase() },
            )
        }
        val reportStatus = screen.text(REPORT_STATUS)
        screen.button(REPORT, "Report absence") {
            val child = childChoice.findViewById<RadioButton>(childChoice.checkedRadioButtonId)?.tag as? String
            val first = day(firstDay.text.toString())
            val last = day(lastDay.text.toString())
            if (child == null || first == null || last == null) {
                reportStatus.text = "Choose a child and two dates"
                return@button
            }
            scope.launch {
                reportStatus.text = try {
                    val report = AbsenceReport(child, first, last, reasons[reason.selectedItemPosition])
                    session.call { reportAbsence(report) }
                    "Saved on this phone"
                } catch (e: KidplanException) {
                    describe(e)
                }
            }
        }
        screen.button(SYNC, "Sync") { sync(syncStatus) }
        screen.show()

        val today = LocalDate.now()
        val attendance = session.observe(Collection.ATTENDANCE) { attendance(today) }
        scope.launch {
            session.children.combine(attendance) { kids, states -> kids to states }.collect { (kids, states) ->
                children.text = kids.joinToString("\n") { child ->
                    val state = states.firstOrNull { it.childId == child.id }?.state
                    "${child.firstName} ${child.lastName}: ${describe(state)}"
                }.ifEmpty { "No children yet" }
                renderChoice(childChoice, kids)
            }
        }
        scope.launch {
            session.threads.collect { threads ->
                unread.text = "Unread messages: ${threads.sumOf { it.unreadCount.toInt() }}"
            }
        }
        scope.launch {
            session.children.combine(session.absences) { kids, list -> kids to list }.collect { (kids, list) ->
                absences.text = list.joinToString("\n") { describe(it, kids) }.ifEmpty { "No absences" }
            }
        }
        sync(syncStatus)
    }

    private fun sync(status: android.widget.TextView) {
        val session = KidplanAndroid.session(this)
        scope.launch {
            status.text = try {
                session.sync()
                "Up to date"
            } catch (e: KidplanException) {
                describe(e)
            }
        }
    }

    private fun renderChoice(group: RadioGroup, kids: List<Child>) {
        val ids = (0 until group.childCount).map { group.getChildAt(it).tag }
        if (ids == kids.map { it.id }) return
        group.removeAllViews()
        for (child in kids) {
            group.addView(RadioButton(this).apply { text = child.firstName; tag = child.id; id = android.view.View.generateViewId() })
        }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        const val CHILDREN = "home.children"
        const val UNREAD = "home.unread"
        const val ABSENCES = "home.absences"
        const val SYNC_STATUS = "home.sync.status"
        const val CHILD_CHOICE = "home.report.child"
        const val FIRST_DAY = "home.report.first"
        const val LAST_DAY = "home.report.last"
        const val REASON = "home.report.reason"
        const val REPORT = "home.report.submit"
        const val REPORT_STATUS = "home.report.status"
        const val SYNC = "home.sync"
        const val OPENED = "home.opened"

        private fun day(text: String): LocalDate? =
            try {
                LocalDate.parse(text.trim())
            } catch (_: DateTimeParseException) {
                null
            }

        private fun describe(state: AttendanceState?): String = when (state) {
            is AttendanceState.CheckedIn -> "in the kindergarten"
            is AttendanceState.CheckedOut -> "picked up"
            else -> "not arrived"
        }

        /** "Emma, 2026-11-26 to 2026-11-26, sick: pending" (pending until the server has it). */
        private fun describe(view: AbsenceView, kids: List<Child>): String {
            val a = view.absence
            val who = kids.firstOrNull { it.id == a.childId }?.firstName ?: "?"
            val local = when (val l = view.local) {
                LocalState.Pending -> "pending"
                LocalState.Synced -> "sent"
                is LocalState.Rejected -> "rejected: ${l.reason}"
            }
            return "$who, ${a.firstDay} to ${a.lastDay}, ${a.reason.name.lowercase()}: $local"
        }
    }
}
