import Foundation

/// The Swift face of the Kidplan core for screens: the generated `Kidplan` object plus
/// `AsyncStream`s that the core's `ChangeListener` keeps fresh.
///
/// Thin on purpose (every rule lives in the core): it turns change notifications into streams
/// and moves blocking calls (SQLite reads and writes) off the caller's thread. Days arrive as
/// `DateComponents` and instants as `Date` from the bindings, and actions take the core's
/// request records (`AbsenceReport`, `HolidayRegistration`, ...). Anything not wrapped here is
/// on `core`.
public final class KidplanSession: @unchecked Sendable {
    /// The generated core object; every call of the core is on it.
    public let core: Kidplan

    private let lock = NSLock()
    private var taps: [UUID: @Sendable (Set<Collection>) -> Void] = [:]
    /// Keeps the listener subscribed as long as the session lives.
    private var subscription: Subscription?

    public init(core: Kidplan) {
        self.core = core
        subscription = core.subscribe(listener: Listener(session: self))
    }

    /// Opens the core on `dataDir` (see `Kidplan.open`).
    public convenience init(dataDir: String, config: Config, secrets: SecretStore) throws {
        self.init(core: try Kidplan.open(dataDir: dataDir, config: config, secrets: secrets))
    }

    deinit { subscription?.unsubscribe() }

    /// Called on a core thread: only hands the change to the taps (non-blocking yields).
    private final class Listener: ChangeListener, @unchecked Sendable {
        weak var session: KidplanSession?
        init(session: KidplanSession) { self.session = session }
        func onChange(collections: [Collection]) {
            session?.fan(Set(collections))
        }
    }

    private func fan(_ changed: Set<Collection>) {
        lock.lock()
        let current = Array(taps.values)
        lock.unlock()
        for tap in current { tap(changed) }
    }

    private func addTap(_ tap: @escaping @Sendable (Set<Collection>) -> Void) -> UUID {
        let id = UUID()
        lock.lock()
        taps[id] = tap
        lock.unlock()
        return id
    }

    private func removeTap(_ id: UUID) {
        lock.lock()
        taps[id] = nil
        lock.unlock()
    }

    /// Every change notification touching one of `on` (any, when empty).
    public func changes(_ on: Set<Collection> = []) -> AsyncStream<Set<Collection>> {
        AsyncStream { continuation in
            let id = addTap { changed in
                if on.isEmpty || !changed.isDisjoint(with: on) { continuation.yield(changed) }
            }
            continuation.onTermination = { [weak self] _ in self?.removeTap(id) }
        }
    }

    /// Runs `read` now and again after every change of one of `on` (or of the active account).
    /// Changes arriving while a read runs are conflated into one more read. A failed read
    /// yields nothing (the next change reads again).
    public func observe<T: Sendable>(
        _ on: Set<Collection>,
        read: @escaping @Sendable (Kidplan) throws -> T
    ) -> AsyncStream<T> {
        let wanted = on.union([.account])
        let core = self.core
        return AsyncStream { continuation in
            let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let id = addTap { changed in
                if !changed.isDisjoint(with: wanted) { signal.yield() }
            }
            signal.yield() // the first read, after subscribing so no change is missed
            let task = Task.detached {
                for await _ in signals {
                    if let value = try? read(core) { continuation.yield(value) }
                }
                continuation.finish()
            }
            continuation.onTermination = { [weak self] _ in
                self?.removeTap(id)
                signal.finish()
                task.cancel()
            }
        }
    }

    /// The account reads and actions apply to (`nil` when logged out).
    public var account: AsyncStream<Account?> { observe([]) { $0.activeAccount() } }
    public var children: AsyncStream<[Child]> { observe([.children]) { try $0.children() } }
    public var threads: AsyncStream<[ThreadSummary]> { observe([.threads, .messages]) { try $0.threads() } }
    public var absences: AsyncStream<[AbsenceView]> { observe([.absences]) { try $0.absences(childId: nil) } }
    public var outbox: AsyncStream<[OutboxItem]> { observe([.outbox]) { try $0.outbox() } }

    // MARK: network (async in the bindings; the core runs them on its own runtime)

    public func requestLoginCode(_ contact: String) async throws {
        try await core.requestLoginCode(contact: contact)
    }

    public func verifyLoginCode(_ contact: String, code: String) async throws -> Account {
        try await core.verifyLoginCode(contact: contact, code: code)
    }

    public func logout() async throws { try await core.logout() }

    public func sync() async throws -> SyncReport { try await core.sync() }

    // MARK: blocking calls, off the caller's thread

    /// Runs any blocking core call (a cache read or an outbox action) off the caller's thread.
    public func call<T: Sendable>(_ body: @escaping @Sendable (Kidplan) throws -> T) async throws -> T {
        let core = self.core
        return try await Task.detached { try body(core) }.value
    }
}
