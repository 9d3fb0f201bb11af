import ArgumentParser

/// `--seed`: any 64-bit unsigned value, as `train.seed` takes. A negative seed is refused rather
/// than wrapped around (as PyTorch's manual_seed does): two spellings of one seed would make runs
/// look different that are the same.
enum Seed {
    static let range = "0...\(UInt64.max)"

    /// The seed `text` spells, or an error giving the range.
    static func parse(_ text: String) throws -> UInt64 {
        guard let seed = UInt64(text) else { throw ValidationError("must be an integer in \(range)") }
        return seed
    }
}
