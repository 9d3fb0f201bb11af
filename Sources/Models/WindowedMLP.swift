import Kernels
import ModelSpec

/// The windowed MLP, the baseline without a hidden state: each position t reads the embeddings
/// of its k tokens t−k+1 ... t side by side, [τ·n × k·E], and one hidden layer
/// φ(x W_hiddenᵀ + b) [τ·n × H] feeds the decoder.
final class WindowedMLP<T: Scalar>: ModelBody {
    let config: ModelConfig
    let weight: Int, bias: Int, encoder: Int
    /// The token index per (row, context slot) [τ·n × k].
    let contextTokens: Buffer<Int32>
    /// The hidden layer [τ·n × H].
    let hiddenLayer: Buffer<T>
    let products: Products<T>

    init(config: ModelConfig, layout: ParameterLayout, arena: Arena<T>, products: Products<T>) {
        self.config = config
        self.products = products
        weight = layout["hidden.weight"].offset
        bias = layout["hidden.bias"].offset
        encoder = layout["encoder.weight"].offset
        contextTokens = arena.take("mlp.contextTokens")
        hiddenLayer = arena.take("mlp.hiddenLayer")
    }

    var storageStart: Int { weight }

    func forward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, initialState: Buffer<T>,
                 dropout: ((Int, UnsafePointer<T>, Int) -> Void)?) -> UnsafeMutablePointer<T> {
        fillContextTokens(batch)
        let rows = ws.rows, E = config.embedding, k = config.context, H = config.hidden
        T.embeddingForward(rows: rows * k, width: E, table: p + encoder, tokens: contextTokens.base,
                           out: ws.embedded.base, ldout: E)
        dropout?(0, ws.embedded.base, k * E)
        let x = dropout != nil ? ws.dropout[0].output.base : ws.embedded.base
        products.gemm(transA: false, transB: true, m: rows, n: H, k: k * E, a: x, lda: k * E,
                      b: p + weight, ldb: k * E, beta: 0, c: hiddenLayer.base, ldc: H)
        T.actForward(rows: rows, width: H, relu: config.activation == .relu, pre: hiddenLayer.base,
                     bias: p + bias, out: hiddenLayer.base)
        dropout?(1, hiddenLayer.base, H)
        return hiddenLayer.base
    }

    func backward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, gradients g: UnsafeMutablePointer<T>,
                  dy: Buffer<T>, dx: Buffer<T>, usedDropout: Bool, initialStateGradient: Buffer<T>?,
                  poll: (() -> Void)?, finish: (Int) -> Void) {
        let rows = ws.rows, E = config.embedding, k = config.context, H = config.hidden
        T.actBackward(n: rows, h: H, relu: config.activation == .relu, out: hiddenLayer.base,
                      dup: dy.base, ldup: H, drec: nil, dpre: dy.base)
        let x = usedDropout ? ws.dropout[0].output.base : ws.embedded.base
        products.gemm(transA: true, transB: false, m: H, n: k * E, k: rows, a: dy.base, lda: H,
                      b: x, ldb: k * E, beta: 1, c: g + weight, ldc: k * E)
        T.columnSumAdd(rows: rows, cols: H, x: dy.base, ld: H, out: g + bias)
        products.gemm(transA: false, transB: false, m: rows, n: k * E, k: H, a: dy.base, lda: H,
                      b: p + weight, ldb: k * E, beta: 0, c: dx.base, ldc: k * E)
        finish(encoder)
        if usedDropout { ws.dropout[0].backward(dx.base, rows: rows) }
        T.embeddingBackward(rows: rows * k, width: E, dtable: g + encoder, tokens: contextTokens.base,
                            dout: dx.base, lddout: E)
    }

    /// The k input tokens for each row (t, i): tokens t−k+1 ... t, reaching into the history
    /// before the chunk, −1 (a zero embedding) before the sequence began.
    private func fillContextTokens(_ batch: Batch) {
        let n = batch.sequences, k = config.context
        for t in 0..<batch.steps {
            for i in 0..<n {
                let base = (t * n + i) * k
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let token: Int32
                    if s >= 0 {
                        token = batch.inputs[s * n + i]
                    } else if let history = batch.history {
                        token = history[(s + k - 1) * n + i]
                    } else {
                        token = -1
                    }
                    contextTokens[base + j] = token
                }
            }
        }
    }
}

extension ActivationPlan {
    /// The MLP's context tokens [τ·n × k] and hidden layer [τ·n × H].
    static func windowedMLP(_ config: ModelConfig, rows: Double) -> [ArenaEntry] {
        [.int32s("mlp.contextTokens", rows * Double(config.context)), .scalars("mlp.hiddenLayer", rows * Double(config.hidden))]
    }
}
