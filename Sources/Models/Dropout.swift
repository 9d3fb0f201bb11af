import Kernels

/// One place where dropout may act: after the embedding (site 0), between recurrent layers
/// (sites 1 ..< L), before the decoder (site L). Holds its output and mask [τ·n × width].
final class DropoutSite<T: Scalar> {
    let site: Int
    let width: Int
    let output: Buffer<T>
    let mask: Buffer<T>

    /// output and mask [τ·n × width], from the arena.
    init(site: Int, width: Int, output: Buffer<T>, mask: Buffer<T>) {
        self.site = site
        self.width = width
        self.output = output
        self.mask = mask
    }

    /// output = x ⊙ mask for rows (t, i) keyed by (seed, step, firstSequence + i, site, t).
    func forward(_ x: UnsafePointer<T>, ldx: Int, steps: Int, sequences: Int, firstSequence: Int,
                 key: DropoutKey, p: Double, rowKeys: Buffer<UInt64>) {
        for t in 0..<steps {
            for i in 0..<sequences {
                rowKeys[t * sequences + i] = CounterHash.key(key.seed, key.step, UInt64(firstSequence + i),
                                                             UInt64(site), UInt64(t))
            }
        }
        T.dropoutForward(rows: steps * sequences, cols: width, x: x, ldx: ldx, y: output.base, ldy: width,
                         mask: mask.base, rowKeys: rowKeys.base, p: p)
    }

    /// In place: d ← d ⊙ mask, d [τ·n × width] contiguous.
    func backward(_ d: UnsafeMutablePointer<T>, rows: Int) {
        T.dropoutBackward(rows: rows, cols: width, dy: d, lddy: width, mask: mask.base, dx: d, lddx: width)
    }
}
