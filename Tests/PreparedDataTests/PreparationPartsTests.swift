@testable import Config
import Foundation
@testable import PreparedData
@testable import TextData
import TestSupport
import XCTest

/// `prepare`'s cut of the text into one part per rank (PreparationPlan, TextChunks).
final class PreparationPartsTests: XCTestCase {
    /// The ranks' byte ranges: each cut where the tokenizer allows, and the parts, counted and
    /// encoded apart, then merged through their serialized form, give the whole text's
    /// vocabulary and tokens (what `prepare` does over MPI, without MPI).
    func testRankPartsCountAndEncodeAsTheWholeText() throws {
        let directory = try temporaryDirectory(self, "textfiles")
        try Data(String(repeating: "\u{1D11E}\u{E9} \u{2603}a\n", count: 7).utf8).write(to: directory.appendingPathComponent("1"))
        try Data("w\u{2603}rd  \u{1D11E}\u{1D11E}\tx".utf8).write(to: directory.appendingPathComponent("2"))
        try Data((String(repeating: "\u{1D11E}", count: 13) + " \u{E9}\u{E9}\n").utf8).write(to: directory.appendingPathComponent("3"))
        let files = try TextFiles.list(directory.path)
        let whole = try files.read()
        let text = TextChunks(files: files)
        for kind in [TokenizerKind.char, .word] {
            let cut: TextChunks.Cut = kind == .char ? .scalar : .word
            let reference = try Corpus.load(path: directory.path, valPath: "", valFraction: 0, tokenizer: kind, minCount: 1,
                                            withMask: false)
            for parts in 1...9 {
                let cuts = try PreparationPlan.cuts(text, 0..<files.size, parts: parts, cut: cut)
                XCTAssertEqual(cuts.count, parts + 1)
                XCTAssertEqual(cuts, cuts.sorted())
                for c in cuts.dropFirst().dropLast() where c > 0 && c < files.size {
                    if kind == .char { XCTAssertNotEqual(whole[c] & 0xC0, 0x80, "cut \(c) inside a scalar") }
                    if kind == .word { XCTAssertTrue(isWordSpace(whole[c - 1]), "cut \(c) inside a word") }
                }
                var merged = TextCounts(kind: kind)
                var partCounts: [TextCounts] = []
                for k in 0..<parts {
                    var counts = TextCounts(kind: kind)
                    try text.forEachPiece(cuts[k]..<cuts[k + 1], cut: cut, pieceBytes: 5, endsText: k == parts - 1) {
                        try counts.add($0, source: $1, offset: $2, final: $3)
                    }
                    partCounts.append(counts)
                    merged.merge(try TextCounts(serialized: counts.serialized(), kind: kind))
                }
                let vocabulary = try merged.vocabulary(source: "t", minCount: 1, withMask: false)
                XCTAssertEqual(vocabulary, reference.vocabulary, "\(kind) in \(parts) parts")
                let encoder = TokenEncoder(vocabulary)
                var ids: [Int32] = []
                for k in 0..<parts {
                    let before = ids.count
                    try text.forEachPiece(cuts[k]..<cuts[k + 1], cut: cut, pieceBytes: 5, endsText: k == parts - 1) {
                        ids += try encoder.encode($0, source: $1, offset: $2, final: $3, as: Int32.self).ids
                    }
                    XCTAssertEqual(ids.count - before, partCounts[k].tokens(in: vocabulary), "part \(k)'s count")
                }
                XCTAssertEqual(ids, try reference.train.all, "\(kind) in \(parts) parts")
            }
        }
    }
}
