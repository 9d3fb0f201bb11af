import Foundation
import XCTest

/// A fresh directory under the temporary directory, removed when `test` ends.
public func temporaryDirectory(_ test: XCTestCase, _ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("rnntrain-\(label)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
