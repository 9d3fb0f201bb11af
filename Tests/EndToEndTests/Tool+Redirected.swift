import Foundation

extension Tool {
    /// Runs rnntrain with its standard output going to the file at `stdoutPath` (such as
    /// /dev/full) instead of a pipe; stderr is captured. A run still going after `deadline`
    /// seconds is killed and reported with status -1, so a command that would block or never
    /// end fails its test instead of hanging it.
    static func rnntrain(_ arguments: [String], stdoutPath: String? = nil, deadline: Double) throws -> (result: Result, seconds: Double) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        if let stdoutPath {
            process.standardOutput = try opened(FileHandle(forWritingAtPath: stdoutPath), stdoutPath)
        } else {
            process.standardOutput = out
        }
        process.standardError = err
        let start = Date()
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: killer)
        let stdout = stdoutPath == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        let seconds = Date().timeIntervalSince(start)
        let status = process.terminationReason == .uncaughtSignal ? -1 : process.terminationStatus
        return (Result(status: status, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self)), seconds)
    }

    private static func opened(_ handle: FileHandle?, _ path: String) throws -> FileHandle {
        guard let handle else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        return handle
    }
}
