import Foundation
import ModelSpec
import Models

/// A second implementation of the model's forward pass in plain Double loops, from PyTorch's
/// parameter layouts (weight_ih [G·h × d], x Wᵀ) and, for a recurrent step, the equations each
/// cell states in plain Double (`CellKind.reference`): it shares no code with the kernels,
/// the products or the scan of Models.
struct ReferenceLanguageModel {
    let config: ModelConfig
    let tensors: [String: [Double]]
    /// Applied to both operands of every matrix product (weights and activations) when set:
    /// bf16 rounding makes this the reference of a bf16 model.
    var operandRounding: ((Double) -> Double)?

    init(_ model: Model<Double>) {
        config = model.config
        var t: [String: [Double]] = [:]
        for tensor in model.layout.tensors { t[tensor.name] = model.tensor(tensor.name) }
        tensors = t
    }

    struct Output {
        var loss = 0.0
        var count = 0
        var correct = 0
        /// Per scored position (t, i) at index t·n + i; nil where not scored.
        var positionLoss: [Double?] = []
        var finalState: [Double] = []
    }

    private func w(_ name: String) -> [Double] { tensors[name]! }

    /// W x for W [rows × x.count] row-major.
    private func times(_ W: [Double], _ x: [Double]) -> [Double] {
        let cols = x.count
        if let round = operandRounding {
            let Wr = W.map(round), xr = x.map(round)
            return (0..<(W.count / cols)).map { r in (0..<cols).reduce(0) { $0 + Wr[r * cols + $1] * xr[$1] } }
        }
        return (0..<(W.count / cols)).map { r in (0..<cols).reduce(0) { $0 + W[r * cols + $1] * x[$1] } }
    }

    private func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 + $1 } }

    private func embedding(_ token: Int32) -> [Double] {
        let E = config.embedding
        return token < 0 ? [Double](repeating: 0, count: E) : Array(w("encoder.weight")[(Int(token) * E)..<(Int(token) * E + E)])
    }

    /// One step of one direction: the state's parts from x and the previous parts, by the
    /// equations the cell states (`CellKind.reference`), on this model's products.
    private func step(_ s: String, x: [Double], state: [[Double]]) -> [[Double]] {
        let weights = ReferenceWeights(hidden: config.hidden, ih: w("rnn.weight_ih_\(s)"), hh: w("rnn.weight_hh_\(s)"),
                                       biasIH: w("rnn.bias_ih_\(s)"), biasHH: w("rnn.bias_hh_\(s)"), times: times)
        return CellRegistry.kind(for: config).reference(weights, config: config, x: x, state: state)
    }

    /// `initialState` [n × width], per sequence: for each layer, for each direction, h then (LSTM) c.
    func run(_ batch: Batch, initialState: [Double]?) -> Output {
        let n = batch.sequences, steps = batch.steps, H = config.hidden
        let D = config.isWindowedMLP ? 1 : config.directions, L = config.isWindowedMLP ? 0 : config.layers
        let parts = config.isWindowedMLP ? 0 : CellRegistry.kind(for: config).state.count
        let per = parts * H, width = L * D * per
        let state = initialState ?? [Double](repeating: 0, count: n * width)
        var finalState = [Double](repeating: 0, count: n * width)
        // Decoder inputs y[t][i].
        var y: [[[Double]]]
        if config.isWindowedMLP {
            let k = config.context
            y = (0..<steps).map { t in
                (0..<n).map { i in
                    var window: [Double] = []
                    for j in 0..<k {
                        let time = t - (k - 1) + j
                        // History row q holds time q − (k − 1): oldest first.
                        let token = time >= 0 ? batch.inputs[time * n + i]
                            : batch.history.map { $0[(time + k - 1) * n + i] } ?? -1
                        window += embedding(token)
                    }
                    let a = add(times(w("hidden.weight"), window), w("hidden.bias"))
                    return a.map { config.activation == .relu ? max($0, 0) : tanh($0) }
                }
            }
        } else {
            var x = (0..<steps).map { t in (0..<n).map { i in embedding(batch.inputs[t * n + i]) } }
            for l in 0..<L {
                var out = [[[Double]]](repeating: [[Double]](repeating: [], count: n), count: steps)
                for d in 0..<D {
                    let s = d == 0 ? "l\(l)" : "l\(l)_reverse"
                    let column = (l * D + d) * per
                    for i in 0..<n {
                        let row = Array(state[(i * width + column)..<(i * width + column + per)])
                        var parts = (0..<parts).map { Array(row[($0 * H)..<(($0 + 1) * H)]) }
                        for t in d == 0 ? Array(0..<steps) : (0..<steps).reversed() {
                            parts = step(s, x: x[t][i], state: parts)
                            out[t][i] += parts[0]
                        }
                        for (k, part) in parts.enumerated() {
                            for j in 0..<H { finalState[i * width + column + k * H + j] = part[j] }
                        }
                    }
                }
                x = out
            }
            y = x
        }
        var result = Output()
        result.finalState = finalState
        result.positionLoss = [Double?](repeating: nil, count: steps * n)
        for t in 0..<steps {
            for i in 0..<n {
                let p = t * n + i, target = batch.targets[p]
                guard target >= 0, batch.mask.map({ $0[p] != 0 }) ?? true else { continue }
                let logits = add(times(w("decoder.weight"), y[t][i]), w("decoder.bias"))
                let m = logits.max()!
                let loss = m + log(logits.reduce(0) { $0 + exp($1 - m) }) - logits[Int(target)]
                result.positionLoss[p] = loss
                result.loss += loss
                result.count += 1
                if logits.firstIndex(of: m)! == Int(target) { result.correct += 1 }
            }
        }
        return result
    }
}
