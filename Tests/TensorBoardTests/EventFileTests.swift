import Files
import Foundation
@testable import TensorBoard
import TestSupport
import XCTest

/// Event files as the tests' own reader (RecordReader) sees them: the records TensorBoard needs,
/// in order, each whole, with names that sort in the order the files were written.
final class EventFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(at: directory!) }
    }

    private func read(_ url: URL) throws -> RecordReader {
        RecordReader(try FileIO.read(url))
    }

    func testVersionThenSessionStartThenScalars() throws {
        let file = try EventFile(directory: directory, firstStep: 11, host: "node7", now: 1_764_740_000.25)
        XCTAssertEqual(file.url.lastPathComponent, "events.out.tfevents.1764740000.node7")
        try file.write(scalars: [("loss/train", 2.5), ("train/skipped", 0)], step: 20, wallTime: 1_764_740_003.5)
        let reader = try read(file.url)
        XCTAssertEqual(reader.trailing, 0)
        let events = try reader.events()
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(events[0].what, .fileVersion("brain.Event:2"))
        XCTAssertEqual(events[0].wallTime, 1_764_740_000.25)
        XCTAssertEqual(events[1].step, 11)
        XCTAssertEqual(events[1].what, .sessionLog(.with { $0.status = .start }))
        XCTAssertEqual(events[2].step, 20)
        XCTAssertEqual(events[2].wallTime, 1_764_740_003.5)
        guard case let .summary(summary)? = events[2].what else { return XCTFail("not a summary: \(events[2])") }
        XCTAssertEqual(summary.value.map(\.tag), ["loss/train", "train/skipped"])
        // A zero is present, not left out as proto3 leaves out default values outside a oneof.
        XCTAssertEqual(summary.value.map(\.value), [.simpleValue(2.5), .simpleValue(0)])
    }

    /// Non-finite values go through as they are (a loss of NaN when every step was skipped).
    func testNonFiniteValuesAreKept() throws {
        let file = try EventFile(directory: directory, firstStep: 1, host: "h", now: 100)
        try file.write(scalars: [("a", .nan), ("b", .infinity)], step: 1, wallTime: 101)
        guard case let .summary(summary)? = try read(file.url).events().last?.what else { return XCTFail("no summary") }
        XCTAssertTrue(summary.value[0].simpleValue.isNaN)
        XCTAssertEqual(summary.value[1].simpleValue, .infinity)
    }

    /// Sessions started within one second, or after a file of a later time (another host's
    /// clock), still get names that sort after every existing one: TensorBoard reads a run's
    /// files in name order.
    func testEachSessionGetsANewFileThatSortsLast() throws {
        let first = try EventFile(directory: directory, firstStep: 1, host: "b", now: 500)
        let second = try EventFile(directory: directory, firstStep: 6, host: "a", now: 500.9)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("events.out.tfevents.900.c").path, contents: nil)
        let third = try EventFile(directory: directory, firstStep: 9, host: "a", now: 600)
        XCTAssertEqual([first, second, third].map(\.url.lastPathComponent),
                       ["events.out.tfevents.500.b", "events.out.tfevents.501.a", "events.out.tfevents.901.a"])
        let names = try FileIO.names(in: directory).sorted()
        XCTAssertEqual(names, ["events.out.tfevents.500.b", "events.out.tfevents.501.a", "events.out.tfevents.900.c", "events.out.tfevents.901.a"])
        XCTAssertEqual(try read(first.url).events().count, 2, "a later session wrote into an earlier file")
    }

    /// A directory that cannot be made says which path and why.
    func testADirectoryThatIsAFileIsNamed() throws {
        try FileIO.makeDirectories(directory)
        let blocker = directory.appendingPathComponent("tb")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        XCTAssertThrowsError(try EventFile(directory: blocker, firstStep: 1)) { error in
            XCTAssertEqual("\(error)", "\(blocker.path): Not a directory")
        }
    }

    /// A full disk fails the write with the path and the system's reason, never silently; the
    /// file holds the whole records written before it, and at most part of the one that failed.
    func testAFullDiskThrowsWithThePathAndKeepsTheWholeRecords() throws {
        let disk = try SmallFileSystem(self, kilobytes: 16)
        let file = try EventFile(directory: disk.url, firstStep: 1, host: "h", now: 1)
        try file.write(scalars: [("a", 1)], step: 1, wallTime: 2)
        try disk.fill()
        let tags = (0..<1000).map { ("tag-\($0)", Float($0)) }
        XCTAssertThrowsError(try file.write(scalars: tags, step: 2, wallTime: 3)) { error in
            XCTAssertEqual("\(error)", "\(file.url.path): No space left on device")
        }
        let reader = try read(file.url)
        XCTAssertEqual(try reader.events().map(\.step), [0, 1, 1])
    }
}
