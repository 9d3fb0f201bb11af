@testable import NGram

extension NGramModel {
    /// The whole ARPA file in memory, for comparing models and files.
    func arpa(words names: [String]) throws -> [UInt8] {
        var all: [UInt8] = []
        try writeARPA(words: names) { all += $0 }
        return all
    }
}
