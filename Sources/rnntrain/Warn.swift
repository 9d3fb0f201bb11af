import Files
import Foundation

/// A note on stderr that does not stop the command ("rnntrain: <line>").
func warn(_ line: String) {
    StandardError.line("rnntrain: \(line)")
}
