import CDNNL
import CKernels

/// bfloat16 rounding, as the bf16 products apply it to their operands.
public enum BF16 {
    /// Whether this CPU has AVX512_BF16 and oneDNN may use it: the condition for the fast bf16
    /// products. `DNNL_MAX_CPU_ISA=AVX512_CORE` (oneDNN's own switch) makes it false on any CPU,
    /// which is how the tests reach the emulated products.
    public static let hasFastProducts: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue, bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return rk_cpu_has_avx512_bf16() != 0 && isa & bf16 == bf16
    }()

    /// What a bf16 run says once when it must emulate.
    public static let emulationNotice = "bf16: this CPU has no AVX512_BF16 that oneDNN may use; the products run "
        + "emulated (bf16 operands widened to fp32 on OpenBLAS: the same numerics), slower than fp32"

    /// dst [rows × cols] (row stride ldd) = src rounded to bf16: to nearest with ties to even,
    /// subnormals taken as zero, as `vcvtneps2bf16` does (and oneDNN's conversion on this CPU).
    /// `scalar` forces the portable code, for the tests that hold it to the instruction.
    @inline(__always)
    public static func round(rows: Int, cols: Int, _ src: UnsafePointer<Float>, lds: Int,
                             into dst: UnsafeMutablePointer<UInt16>, ldd: Int, scalar: Bool = false) {
        rk_bf16_round_rows(rows, cols, src, lds, dst, ldd, scalar ? 1 : 0)
    }

    /// dst [rows × cols] = src widened to Float, exactly.
    @inline(__always)
    public static func widen(rows: Int, cols: Int, _ src: UnsafePointer<UInt16>, lds: Int,
                             into dst: UnsafeMutablePointer<Float>, ldd: Int) {
        rk_bf16_widen_rows(rows, cols, src, lds, dst, ldd)
    }

    /// One bf16 value as Float, exactly.
    @inline(__always)
    public static func widen(_ x: UInt16) -> Float { Float(bitPattern: UInt32(x) << 16) }

    /// One value rounded to bf16 and back.
    public static func rounded(_ x: Float) -> Float {
        var v = x, r: UInt16 = 0
        round(rows: 1, cols: 1, &v, lds: 1, into: &r, ldd: 1)
        return widen(r)
    }

    /// Error feedback (the bf16 wire): for each i, r = g[i] + residual[i] is rounded to bf16 as
    /// `round` rounds; residual[i] ← r − bf16(r), what the rounding dropped (0 where r is not
    /// finite); the bf16 value goes to wire[i], or with no wire back into g[i] as a Float.
    public static func feedback(count: Int, _ g: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>,
                                wire: UnsafeMutablePointer<UInt16>?) {
        rk_bf16_feedback(count, g, residual, wire)
    }

    /// inout[i] ← bf16(Float(in[i]) + Float(inout[i])): one step of a sum of bf16 values.
    public static func sum(count: Int, _ x: UnsafePointer<UInt16>, into y: UnsafeMutablePointer<UInt16>) {
        rk_bf16_sum_into(count, x, y)
    }
}
