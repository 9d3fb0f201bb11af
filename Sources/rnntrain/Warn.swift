import Foundation

/// A note on stderr that does not stop the command ("rnntrain: <line>").
func warn(_ line: String) {
    FileHandle.standardError.write(Data("rnntrain: \(line)\n".utf8))
}
