import CDNNL

/// Which library kernels compute a run's products: OpenBLAS's kernel family and, in bf16, the
/// engine of the bf16 products (oneDNN and the instruction set it runs, or the emulation). Two
/// kernel sets may sum a product in different orders, so deterministic mode's bit-identity holds
/// only between runs, and ranks, on the same kernels: a run records them in its checkpoints and
/// its ranks compare them at start.
public struct ComputeKernels: Equatable, Sendable, CustomStringConvertible {
    /// OpenBLAS's kernel family, as `openblas_get_corename` names it ("SkylakeX").
    public var openBLAS: String
    /// In bf16, "oneDNN <its effective ISA>" ("oneDNN avx512_core_bf16") or "emulated"; nil in fp32.
    public var bf16: String?

    public init(openBLAS: String, bf16: String?) {
        self.openBLAS = openBLAS
        self.bf16 = bf16
    }

    /// This process's kernels for products in bf16 on `bf16Engine`, or in fp32 when it is nil.
    public static func current(bf16Engine: BF16Products.Engine?) -> ComputeKernels {
        let bf16 = bf16Engine.map { engine -> String in
            switch engine {
            case .onednn: return "oneDNN " + oneDNNInstructionSet
            case .emulated: return "emulated"
            }
        }
        return ComputeKernels(openBLAS: openBLASCoreName, bf16: bf16)
    }

    /// The instruction set oneDNN may use here ("avx512_core_bf16"); `DNNL_MAX_CPU_ISA` lowers it.
    static var oneDNNInstructionSet: String {
        let name = String(cString: dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()))
        return name.hasPrefix("cpu_isa_") ? String(name.dropFirst("cpu_isa_".count)) : name
    }

    /// "OpenBLAS SkylakeX", "OpenBLAS SkylakeX + bf16 oneDNN avx512_core_bf16".
    public var description: String { "OpenBLAS \(openBLAS)" + (bf16.map { " + bf16 \($0)" } ?? "") }

    /// Whether these kernels may give other bits than `other` for the same products: another
    /// OpenBLAS family, or both in bf16 on other engines. A change of `train.precision` (allowed
    /// on resume) changes the numbers by the user's choice, and is not counted here.
    public func mayDiffer(from other: ComputeKernels) -> Bool {
        guard openBLAS == other.openBLAS else { return true }
        guard let bf16, let theirs = other.bf16 else { return false }
        return bf16 != theirs
    }
}
