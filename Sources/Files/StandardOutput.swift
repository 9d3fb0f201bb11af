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
        try text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(1, bytes.baseAddress! + done, bytes.count - done)
                if n >= 0 {
                    done += n
                    continue
                }
                switch errno {
                case EINTR: continue
                // A descriptor some parent left non-blocking: wait until it takes more.
                case EAGAIN:
                    var ready = pollfd(fd: 1, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, -1)
                default:
                    throw FileIO.osError("standard output")
                }
            }
        }
    }

    /// Writes `text` and a newline.
    public static func line(_ text: String = "") throws {
        try write(text + "\n")
    }
}
