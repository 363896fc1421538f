#if os(macOS)
import Foundation
import XCTest

/// A real `kidplan-server` child process on 127.0.0.1 with a seeded demo database (the Swift
/// twin of android/harness ServerProcess.kt). Needs KIDPLAN_SERVER_BIN (the tests skip without).
final class ServerProcess {
    let dataDir: URL
    private(set) var baseUrl: String?
    private var process: Process?
    let binary: String

    init() throws {
        guard let bin = ProcessInfo.processInfo.environment["KIDPLAN_SERVER_BIN"] else {
            throw XCTSkip("set KIDPLAN_SERVER_BIN to target/debug/kidplan-server")
        }
        binary = bin
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("kidplan-server-\(UUID())")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
    }

    @discardableResult
    func start() throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        let bind = baseUrl.map { String($0.dropFirst("http://".count)) } ?? "127.0.0.1:0"
        p.arguments = ["serve", "--bind", bind, "--data-dir", dataDir.path, "--seed-demo"]
        var env = ProcessInfo.processInfo.environment
        env["RUST_LOG"] = "warn"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        let found = DispatchSemaphore(value: 0)
        var url: String?
        var buffer = ""
        out.fileHandleForReading.readabilityHandler = { h in
            buffer += String(decoding: h.availableData, as: UTF8.self)
            if url == nil, let r = buffer.range(of: #"listening on (http://127\.0\.0\.1:\d+)"#, options: .regularExpression) {
                url = String(buffer[r].dropFirst("listening on ".count))
                found.signal()
            }
            if buffer.count > 20_000 { buffer = String(buffer.suffix(1_000)) }
        }
        try p.run()
        process = p
        guard found.wait(timeout: .now() + 60) == .success, let got = url else {
            throw NSError(domain: "kidplan-server", code: 1, userInfo: [NSLocalizedDescriptionKey: "no listening line"])
        }
        baseUrl = got
        return got
    }

    func stop() {
        process?.terminate()
        process?.waitUntilExit()
        process = nil
    }

    /// The last login code the server "sent" to `contact`, read from its outbox by its CLI.
    func loginCode(_ contact: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["login-code", "--data-dir", dataDir.path, "--contact", contact]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(code.count, 6)
        return code
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dataDir)
    }
}
#endif
