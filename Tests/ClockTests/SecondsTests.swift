import Clock
import XCTest

/// `Duration.seconds` against durations whose length in seconds is known exactly.
final class SecondsTests: XCTestCase {
    func testDurationsInSeconds() {
        XCTAssertEqual(Duration.seconds(3).seconds, 3)
        XCTAssertEqual(Duration.milliseconds(250).seconds, 0.25)
        XCTAssertEqual(Duration.nanoseconds(1).seconds, 1e-9, accuracy: 1e-24)
        XCTAssertEqual(Duration(secondsComponent: 2, attosecondsComponent: 500_000_000_000_000_000).seconds, 2.5)
        // Below zero both components carry the sign.
        XCTAssertEqual(Duration.milliseconds(-1250).seconds, -1.25)
        XCTAssertEqual(Duration.zero.seconds, 0)
    }

    func testSecondsAgoCountsTheTimeSinceTheInstant() {
        let start: Instant = .now
        usleep(20_000)
        let elapsed = start.secondsAgo
        XCTAssertGreaterThanOrEqual(elapsed, 0.02)
        XCTAssertLessThan(elapsed, 10, "a 20 ms sleep")
        XCTAssertGreaterThanOrEqual(start.secondsAgo, elapsed, "monotonic")
    }
}
