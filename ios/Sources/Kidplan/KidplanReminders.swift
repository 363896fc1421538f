#if os(iOS)
import Foundation
import UserNotifications

/// Reminders ("påminnelser") while the phone is offline: one local notification per reminder the
/// core lists (`upcomingReminders`), each under the core's reminder key at its `dueAt`. The core
/// decides what is listed; this only mirrors the list into the notification center.
///
/// iOS shows a local notification without running app code, so the core learns that one was shown
/// only through `shown(_:identifier:)` (call it from `userNotificationCenter(_:willPresent:)` and
/// `(_:didReceive:)`), and the notification service extension removes the pending local request
/// when the server's push shows a reminder first. Unlike Android, a reminder shown while the app
/// is not running and the push of the same reminder can both be seen (same identifier, so the
/// later one replaces the earlier in the notification center).
public enum KidplanReminders {
    static let prefix = "reminder/"

    /// Schedules the core's upcoming reminders and removes scheduled ones it no longer lists;
    /// returns how many are scheduled. Call after a sync and when `.calendar`, `.holidays` or
    /// `.reminders` change.
    @discardableResult
    public static func schedule(_ core: Kidplan, center: UNUserNotificationCenter = .current()) async -> Int {
        guard let upcoming = try? core.upcomingReminders() else { return 0 }
        let listed = Set(upcoming.map { $0.key })
        let pending = await center.pendingNotificationRequests()
        let stale = pending.map { $0.identifier }.filter { $0.hasPrefix(prefix) && !listed.contains($0) }
        center.removePendingNotificationRequests(withIdentifiers: stale)
        for reminder in upcoming {
            let n = reminder.notification
            let content = UNMutableNotificationContent()
            content.title = n.title
            content.body = n.body
            content.categoryIdentifier = "kidplan.\(n.category)"
            content.threadIdentifier = n.childId ?? "kidplan"
            let wait = max(1, reminder.dueAt.timeIntervalSinceNow)
            let trigger = UNTimeIntervalNotificationTrigger(timeInterval: wait, repeats: false)
            try? await center.add(UNNotificationRequest(identifier: reminder.key, content: content, trigger: trigger))
        }
        return upcoming.count
    }

    /// A notification with `identifier` was shown: if it is a reminder, the core marks it shown,
    /// so the server's push of it builds nothing more.
    public static func shown(_ core: Kidplan, identifier: String) {
        guard identifier.hasPrefix(prefix) else { return }
        _ = try? core.reminderDue(key: identifier)
    }
}
#endif
