/// One GEMM call's shape, as `gemm` received it.
public struct GEMMCall: Hashable, Sendable {
    public let transA: Bool, transB: Bool
    public let m: Int, n: Int, k: Int
    public let lda: Int, ldb: Int, ldc: Int
    public let beta: Bool
    public let double: Bool
}

/// Records the GEMM calls of a stretch of work, so a benchmark can replay them alone and learn
/// how much of a step BLAS itself takes. Off (nil) except while `rnntrain bench` records one
/// step; recording costs one branch per call.
public enum GEMMTrace {
    nonisolated(unsafe) public static var calls: [GEMMCall]?
}
