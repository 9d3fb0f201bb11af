import Foundation

/// The built `rnntrain` binary and a way to run it, for tests that act as a user would.
enum Tool {
    /// The products directory holding both the test bundle and the executable.
    static let products = Bundle.main.bundleURL.lastPathComponent.hasSuffix(".xctest")
        ? Bundle.main.bundleURL.deletingLastPathComponent()
        : URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

    static var binary: URL { products.appendingPathComponent("rnntrain") }

    /// The package root, for configs/ and launch/.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments`, waits, and returns its status and output.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func rnntrain(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        try run(binary, arguments, environment: environment, directory: directory)
    }
}
