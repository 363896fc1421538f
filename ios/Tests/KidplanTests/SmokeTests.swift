import XCTest
@testable import Kidplan

final class SmokeTests: XCTestCase {
    func testVersion() {
        XCTAssertFalse(KidplanShell.version().isEmpty)
    }

    func testAsyncPing() async {
        let v = await pingAsync(delayMs: 5)
        XCTAssertEqual(v, 5)
    }

    func testErrorMapping() {
        XCTAssertThrowsError(try parseCount(text: "x")) { error in
            XCTAssertEqual(error as? SmokeError, .InvalidInput(field: "count"))
        }
    }

    final class Listener: SmokeListener {
        func onChange(collections: [String]) {}
        func label(id: UInt64) -> String { "swift-\(id)" }
    }

    func testForeignTrait() {
        XCTAssertEqual(describe(listener: Listener(), id: 3), "[swift-3]")
    }
}
