package no.kidplan.sample

import android.app.Activity
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView

/**
 * Framework-view helpers for the sample's screens (no AndroidX, no XML layouts). Every view the
 * tests drive carries a tag, the name it is found by.
 */
internal class Screen(private val activity: Activity) {
    val column = LinearLayout(activity).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(32, 32, 32, 32)
    }

    fun show() = activity.setContentView(ScrollView(activity).apply { addView(column) })

    fun text(tag: String, initial: String = "", size: Float = 16f): TextView =
        add(TextView(activity).apply { text = initial; textSize = size }, tag)

    fun field(tag: String, hint: String, initial: String = ""): EditText =
        add(EditText(activity).apply { this.hint = hint; setText(initial) }, tag)

    fun button(tag: String, label: String, onClick: () -> Unit): Button =
        add(Button(activity).apply { text = label; setOnClickListener { onClick() } }, tag)

    fun <V : View> add(view: V, tag: String): V {
        view.tag = tag
        column.addView(view)
        return view
    }
}
