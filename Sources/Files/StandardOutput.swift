import Glibc

/// Checked writes to standard output (file descriptor 1), for a command's results.
///
/// `print` goes through stdio's buffer and drops errors: a command writing to a full device
/// (`> /dev/full`) loses all its output and still exits 0. Each call here is write(2) itself, so
/// the first failure throws "standard output: <strerror>" and the command stops there, and
/// nothing is left in a buffer to be lost at exit.
public enum StandardOutput {
    /// Writes all of `text`.
    public static func write(_ text: String) throws {
        var text = text
        let failure = text.withUTF8 { FileIO.writeAll(1, UnsafeRawBufferPointer($0)) }
        if failure != 0 { throw FileIO.osError("standard output", failure) }
    }

    /// Writes `text` and a newline.
    public static func line(_ text: String = "") throws {
        try write(text + "\n")
    }
}
