/// Every control character, the characters JSON escapes, and text beyond ASCII: what a JSON
/// writer must escape as JSONEncoder does (JSONWritingTests, CheckpointJSONTests).
public let awkwardStrings: [String] = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
    + ["\"", "\\", "/", "a/b", "\u{7f}", "é", "𝄞", "\u{2028}", "<unk>", ""]
