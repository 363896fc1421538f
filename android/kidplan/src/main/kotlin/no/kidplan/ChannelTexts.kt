package no.kidplan

import no.kidplan.core.api.Locale
import no.kidplan.core.api.NotificationCategory

/**
 * The names and descriptions of the notification channels in bokmål, nynorsk and English, as
 * the system settings show them. Kept beside the code (like the core's notification texts) so the
 * library needs no resource compiler; [NotificationChannels.create] picks the device's language.
 */
internal object ChannelTexts {
    private class Text(val name: String, val description: String)

    fun name(language: Locale, category: NotificationCategory): String = text(language, category).name

    fun description(language: Locale, category: NotificationCategory): String =
        text(language, category).description

    private fun text(language: Locale, category: NotificationCategory): Text = when (language) {
        Locale.NB -> nb(category)
        Locale.NN -> nn(category)
        else -> en(category)
    }

    private fun nb(category: NotificationCategory) = when (category) {
        NotificationCategory.MESSAGES -> Text("Meldinger", "Nye meldinger fra barnehagen")
        NotificationCategory.ABSENCE_ACKNOWLEDGED ->
            Text("Fravær bekreftet", "Når barnehagen har bekreftet et fravær du har meldt")
        NotificationCategory.CHILD_LOG -> Text("Barnelogg", "Nytt i barnets logg")
        NotificationCategory.CALENDAR -> Text("Kalender", "Arrangementer og påminnelser")
        NotificationCategory.PHOTOS -> Text("Bilder", "Nye bilder av barnet")
        NotificationCategory.URGENT -> Text("Viktige varsler", "Viktige beskjeder fra barnehagen")
        NotificationCategory.UNKNOWN -> Text("Annet", "Andre varsler")
    }

    private fun nn(category: NotificationCategory) = when (category) {
        NotificationCategory.MESSAGES -> Text("Meldingar", "Nye meldingar frå barnehagen")
        NotificationCategory.ABSENCE_ACKNOWLEDGED ->
            Text("Fråvær stadfesta", "Når barnehagen har stadfesta eit fråvær du har meldt")
        NotificationCategory.CHILD_LOG -> Text("Barnelogg", "Nytt i loggen til barnet")
        NotificationCategory.CALENDAR -> Text("Kalender", "Arrangement og påminningar")
        NotificationCategory.PHOTOS -> Text("Bilete", "Nye bilete av barnet")
        NotificationCategory.URGENT -> Text("Viktige varsel", "Viktige beskjedar frå barnehagen")
        NotificationCategory.UNKNOWN -> Text("Anna", "Andre varsel")
    }

    private fun en(category: NotificationCategory) = when (category) {
        NotificationCategory.MESSAGES -> Text("Messages", "New messages from the kindergarten")
        NotificationCategory.ABSENCE_ACKNOWLEDGED ->
            Text("Absence acknowledged", "When the kindergarten has acknowledged an absence you reported")
        NotificationCategory.CHILD_LOG -> Text("Child log", "New entries in your child's log")
        NotificationCategory.CALENDAR -> Text("Calendar", "Events and reminders")
        NotificationCategory.PHOTOS -> Text("Photos", "New photos of your child")
        NotificationCategory.URGENT -> Text("Urgent alerts", "Urgent messages from the kindergarten")
        NotificationCategory.UNKNOWN -> Text("Other", "Other alerts")
    }
}
