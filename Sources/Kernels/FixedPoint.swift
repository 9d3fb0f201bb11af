import CKernels

/// Gradients as 64-bit fixed point: integer sums are associative, so a sum over ranks comes
/// out bit-identical whatever the grouping (the deterministic mode's reduction).
public enum FixedPoint {
    /// 2^32: a summed gradient entry up to 2^29 in magnitude survives a sum over 2^1 ... 2^30
    /// contributions without overflow, with a resolution of 2.3e-10.
    public static let scale = 0x1p32

    /// acc += round(x · scale); returns how many entries were not finite or too large (they add 0).
    public static func accumulate(_ x: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Int64>, count: Int) -> Int {
        rk_fixed_accumulate_f32(count, x, acc, scale)
    }

    /// x = acc / scale.
    public static func decode(_ acc: UnsafePointer<Int64>, into x: UnsafeMutablePointer<Float>, count: Int) {
        rk_fixed_to_float_f32(count, acc, x, 1 / scale)
    }

    /// One Double in the same fixed point.
    public static func encode(_ value: Double) -> Int64 {
        let v = (value * scale).rounded()
        return v.isFinite && abs(v) < 0x1p62 ? Int64(v) : Int64.max
    }
}
