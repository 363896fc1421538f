#if os(macOS)
import Foundation
import XCTest
@testable import Kidplan

/// Mirrors android/harness (Kotlin): the same scenarios against a real kidplan-server.
/// Run on macOS: see ios/README.md.
final class KidplanTests: XCTestCase {
    enum Demo {
        static let guardianEmail = "kari.nordmann@example.org"
        static let guardianId = "8d116ece-1738-47d9-bd9c-172411e20b8f"
        static let emmaId = "90c192cf-d3ac-44af-8f21-ddb66cad4a26"
        static let jakobId = "a170b338-3926-4059-b28c-105d1fb17c23"
        static let otherFamilyChildId = "0cb1e29c-658c-4a14-95e6-0af593bd04cf"
        static let kindergartenName = "Solsikken barnehage"
        static let canaryThreadId = "ae97ba94-d0ed-482f-8f6d-05584ef8aa38"
        static let childNames = ["Emma Nordmann", "Jakob Nordmann"]
    }

    /// In-memory secrets (the Keychain needs an entitled host app).
    final class MemoryStore: SecretStore, @unchecked Sendable {
        private let lock = NSLock()
        private var map: [String: String] = [:]
        func get(key: String) throws -> String? { lock.lock(); defer { lock.unlock() }; return map[key] }
        func set(key: String, value: String) throws { lock.lock(); map[key] = value; lock.unlock() }
        func delete(key: String) throws { lock.lock(); map[key] = nil; lock.unlock() }
        var keys: [String] { lock.lock(); defer { lock.unlock() }; return Array(map.keys) }
    }

    var server: ServerProcess!

    override func setUpWithError() throws {
        server = try ServerProcess()
        try server.start()
    }

    override func tearDown() {
        server = nil
    }

    func device() throws -> (KidplanSession, MemoryStore) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kidplan-device-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = MemoryStore()
        let config = Config(serverUrl: server.baseUrl!, locale: .nb, platform: .ios, appVersion: "xctest")
        return (try KidplanSession(dataDir: dir.path, config: config, secrets: store), store)
    }

    func login(_ s: KidplanSession) async throws -> Account {
        try await s.requestLoginCode(Demo.guardianEmail)
        return try await s.verifyLoginCode(Demo.guardianEmail, code: try server.loginCode(Demo.guardianEmail))
    }

    func names(_ c: [Child]) -> [String] { c.map { "\($0.firstName) \($0.lastName)" }.sorted() }

    func testLoginSyncAndReads() async throws {
        let (s, store) = try device()
        let account = try await login(s)
        XCTAssertEqual(account.personId, Demo.guardianId)
        XCTAssertEqual(account.kindergartenName, Demo.kindergartenName)
        XCTAssertTrue(store.keys.contains("kidplan.\(account.id).refresh"))
        let report = try await s.sync()
        XCTAssertGreaterThan(report.applied, 0)
        XCTAssertEqual(names(try s.core.children()), Demo.childNames)
        XCTAssertTrue(try s.core.threads().contains { $0.thread.id == Demo.canaryThreadId })
        XCTAssertTrue(try s.core.logEntries(childId: Demo.otherFamilyChildId, before: nil, limit: 10).isEmpty)
        let again = try await s.sync()
        XCTAssertEqual(again.applied, 0)
    }

    func testOfflineAbsenceThenSync() async throws {
        let (s, _) = try device()
        _ = try await login(s)
        _ = try await s.sync()
        server.stop()
        let day = DateComponents(year: 2030, month: 3, day: 4)
        let id = try await s.call { try $0.reportAbsence(report: AbsenceReport(childId: Demo.jakobId, firstDay: day, lastDay: day, reason: .sick, note: "Feber")) }
        XCTAssertEqual(try s.core.outbox().first?.status, .pending)
        XCTAssertEqual(try s.core.absences(childId: Demo.jakobId).first { $0.absence.id == id }?.local, .pending)
        do { _ = try await s.sync(); XCTFail("sync while offline") } catch KidplanError.Offline {}
        try server.start()
        _ = try await s.sync()
        XCTAssertEqual(try s.core.outbox().first { $0.entityId == id }?.status, .sent)
        XCTAssertEqual(try s.core.absences(childId: Demo.jakobId).first { $0.absence.id == id }?.local, .synced)
    }

    func testStreamsFollowSyncAndActions() async throws {
        let (s, _) = try device()
        var children = s.children.makeAsyncIterator()
        XCTAssertEqual(await children.next(), [])
        _ = try await login(s)
        _ = try await s.sync()
        var latest: [Child] = []
        while latest.count < 2, let next = await children.next() { latest = next }
        XCTAssertEqual(names(latest), Demo.childNames)

        var outbox = s.outbox.makeAsyncIterator()
        _ = await outbox.next()
        let day = DateComponents(year: 2030, month: 5, day: 6)
        let id = try await s.call { try $0.reportAbsence(report: AbsenceReport(childId: Demo.emmaId, firstDay: day, lastDay: day, reason: .appointment)) }
        var items: [OutboxItem] = []
        while !items.contains(where: { $0.entityId == id }), let next = await outbox.next() { items = next }
        XCTAssertEqual(items.first { $0.entityId == id }?.kind, .reportAbsence)
    }

    func testErrorMapping() async throws {
        let (s, _) = try device()
        _ = try await login(s)
        _ = try await s.sync()
        let a = DateComponents(year: 2030, month: 1, day: 2), b = DateComponents(year: 2030, month: 1, day: 1)
        do { _ = try await s.call { try $0.reportAbsence(report: AbsenceReport(childId: Demo.emmaId, firstDay: a, lastDay: b, reason: .sick)) }; XCTFail() }
        catch KidplanError.InvalidInput(let field) { XCTAssertEqual(field, "last_day") }
        do { _ = try await s.call { try $0.reportAbsence(report: AbsenceReport(childId: "no-such-child", firstDay: a, lastDay: a, reason: .sick)) }; XCTFail() }
        catch KidplanError.InvalidInput(let field) { XCTAssertEqual(field, "child_id") }
        // A date the core cannot read (month 13) is invalid input naming the field, not a crash.
        let bad13 = DateComponents(year: 2030, month: 13, day: 1)
        do { _ = try await s.call { try $0.reportAbsence(report: AbsenceReport(childId: Demo.emmaId, firstDay: bad13, lastDay: a, reason: .sick)) }; XCTFail() }
        catch KidplanError.InvalidInput(let field) { XCTAssertEqual(field, "first_day") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kidplan-bad-\(UUID())").path
        let bad = Config(serverUrl: "http://kidplan.example.org", locale: .nb, platform: .ios, appVersion: "xctest")
        XCTAssertThrowsError(try Kidplan.open(dataDir: dir, config: bad, secrets: MemoryStore())) {
            XCTAssertEqual($0 as? KidplanError, .InvalidInput(field: "server_url"))
        }
        XCTAssertTrue(try s.core.outbox().isEmpty)
    }

    func testCancelledSyncLeavesAConsistentCache() async throws {
        let (s, _) = try device()
        _ = try await login(s)
        for delayMs in [0, 2, 10, 40] {
            try s.core.resetLocalCache()
            let task = Task { try await s.sync() }
            try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000)
            task.cancel()
            _ = try? await task.value
            XCTAssertLessThanOrEqual(try s.core.children().count, 2)
            _ = try await s.sync()
            XCTAssertEqual(names(try s.core.children()), Demo.childNames)
            XCTAssertEqual(try await s.sync().applied, 0)
        }
    }

    func testThousandConcurrentCalls() async throws {
        let (s, _) = try device()
        _ = try await login(s)
        _ = try await s.sync()
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<1000 {
                group.addTask {
                    switch i % 4 {
                    case 0: _ = try await s.sync(); return "sync"
                    case 1: return try s.core.children().count == 2 ? "children" : "wrong"
                    case 2: return kidplanVersion().isEmpty ? "wrong" : "version"
                    default: return try s.core.outbox().isEmpty ? "outbox" : "wrong"
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(results.count, 1000)
        XCTAssertFalse(results.contains("wrong"))
        XCTAssertEqual(names(try s.core.children()), Demo.childNames)
    }
}
#endif
