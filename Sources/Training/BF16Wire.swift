import Kernels

/// `train.reduce: bf16`: the gradient crosses the wire as bf16, with error feedback. Each unit —
/// a rank, or in deterministic mode a fixed group of sequences — adds its residual (what
/// rounding dropped from its gradient last time) to its gradient, rounds the result to bf16 (to
/// nearest, ties to even, as `BF16.round`) and keeps what this rounding dropped as its new
/// residual: a value too small for bf16 is delayed, not lost.
final class BF16Wire {
    /// Each unit's residual [count], in this rank's unit order.
    let residuals: [Buffer<Float>]
    /// The rounded gradient as sent, bf16 bit patterns [count]; empty when the rounded values
    /// go back into the gradient (deterministic mode, whose sum is in fixed point).
    let wire: Buffer<UInt16>

    init(count: Int, units: Int, sends: Bool) {
        residuals = (0..<units).map { _ in Buffer(count: count) }
        wire = Buffer(count: sends ? count : 0)
    }

    /// wire[range] ← bf16(g + residual), residual ← what the rounding dropped.
    func send(_ range: Range<Int>, of g: UnsafeMutablePointer<Float>, unit: Int) {
        BF16.feedback(count: range.count, g + range.lowerBound, residual: residuals[unit].base + range.lowerBound,
                      wire: wire.base + range.lowerBound)
    }

    /// g[range] ← bf16(g + residual) as Float, residual ← what the rounding dropped.
    func round(_ range: Range<Int>, of g: UnsafeMutablePointer<Float>, unit: Int) {
        BF16.feedback(count: range.count, g + range.lowerBound, residual: residuals[unit].base + range.lowerBound, wire: nil)
    }

    /// g[range] ← the summed bf16 values of wire[range], widened.
    func receive(_ range: Range<Int>, into g: UnsafeMutablePointer<Float>) {
        BF16.widen(rows: 1, cols: range.count, wire.base + range.lowerBound, lds: range.count, into: g + range.lowerBound,
                   ldd: range.count)
    }
}
