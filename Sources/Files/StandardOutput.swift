import Glibc

/// Checked writes to standard output (file descriptor 1), for a command's results.
///
/// `print` goes through stdio's buffer and drops errors: a command writing to a full device
/// (`> /dev/full`) loses all its output and still exits 0. Each call here is write(2) itself, so
/// the first failure throws "standard output: <strerror>" and the command stops there, and
/// nothing is left in a buffer to be lost at exit.
public enum StandardOutput {
    /// Standard output was closed when we started (`StandardStreams.prepare` put /dev/null in
    /// its place): every write fails as a write to a closed descriptor would.
    nonisolated(unsafe) static var closedAtStart = false

    /// Writes all of `text`.
    public static func write(_ text: String) throws {
        guard !closedAtStart else { throw UserError("standard output: closed when rnntrain started (\(String(cString: strerror(EBADF))))") }
        var text = text
        let failure = text.withUTF8 { FileIO.writeAll(1, UnsafeRawBufferPointer($0)) }
        if failure != 0 { throw FileIO.osError("standard output", failure) }
    }

    /// Writes `text` and a newline.
    public static func line(_ text: String = "") throws {
        try write(text + "\n")
    }
}

/// Notes and errors on standard error (file descriptor 2). A failure to write them is ignored:
/// there is nowhere left to report it, and FileHandle's write would trap on it (EPIPE, once
/// SIGPIPE is ignored).
public enum StandardError {
    /// Writes `text` and a newline.
    public static func line(_ text: String) {
        write(text + "\n")
    }

    /// Writes `text` as it is (a progress line rewritten with "\r").
    public static func write(_ text: String) {
        var text = text
        _ = text.withUTF8 { FileIO.writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
