#if os(iOS)
import Foundation
import UserNotifications

/// Base class for the app's notification service extension. The APNs push carries no personal
/// data (`{"aps":{"mutable-content":1,"alert":..},"v":1,"kind":"sync","hint":..}`); this hands
/// it to the core's `handlePush`, which runs a bounded sync and builds the text from the local
/// cache. Subclass it in the extension target and override `openCore()` to open the core on the
/// app group's data directory with a `KeychainSecretStore` on the shared access group.
open class KidplanNotificationService: UNNotificationServiceExtension {
    private var contentHandler: ((UNNotificationContent) -> Void)?
    private var fallback: UNMutableNotificationContent?
    private var work: Task<Void, Never>?
    private let lock = NSLock()

    /// Opens the core for this extension process (same data directory and secrets as the app).
    open func openCore() throws -> Kidplan {
        fatalError("override openCore() in the notification service extension")
    }

    open override func didReceive(
        _ request: UNNotificationRequest,
        withContentHandler contentHandler: @escaping (UNNotificationContent) -> Void
    ) {
        self.contentHandler = contentHandler
        let content = (request.content.mutableCopy() as? UNMutableNotificationContent) ?? UNMutableNotificationContent()
        fallback = content
        let payload = (try? JSONSerialization.data(withJSONObject: request.content.userInfo))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        let core = try? openCore()
        work = Task { [weak self] in
            var shown: LocalNotification?
            if let core {
                shown = (try? await core.handlePush(payload: payload)) ?? nil
            }
            guard let self else { return }
            if let n = shown {
                content.title = n.title
                content.body = n.body
                content.categoryIdentifier = "kidplan.\(n.category)"
                content.threadIdentifier = n.threadId ?? n.childId ?? "kidplan"
                if n.category == .urgent, #available(iOS 15.0, *) { content.interruptionLevel = .timeSensitive }
                if n.key.hasPrefix(KidplanReminders.prefix) {
                    // Shown from the push: the local notification scheduled for it goes.
                    UNUserNotificationCenter.current().removePendingNotificationRequests(withIdentifiers: [n.key])
                }
            }
            // With nothing to show (not ours, switched off, sync failed) the push's own generic
            // alert text stays: it never carries personal data.
            self.finish(content)
        }
    }

    open override func serviceExtensionTimeWillExpire() {
        work?.cancel()
        if let fallback { finish(fallback) }
    }

    /// Delivers once, whichever of the push handling and the expiry comes first.
    private func finish(_ content: UNNotificationContent) {
        lock.lock()
        let handler = contentHandler
        contentHandler = nil
        lock.unlock()
        handler?(content)
    }
}
#endif
