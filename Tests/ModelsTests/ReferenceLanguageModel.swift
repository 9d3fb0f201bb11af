import Foundation
import Models

/// A second implementation of the model's forward pass in plain Double loops, written from
/// the cells' equations and PyTorch's parameter layouts (weight_ih [G·h × d], x Wᵀ; gate order
/// LSTM i|f|g|o, GRU r|z|n), sharing no code with Models beyond reading tensors by name.
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
    private func σ(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    private func part(_ v: [Double], _ k: Int, _ h: Int) -> [Double] { Array(v[(k * h)..<((k + 1) * h)]) }

    private func embedding(_ token: Int32) -> [Double] {
        let E = config.embedding
        return token < 0 ? [Double](repeating: 0, count: E) : Array(w("encoder.weight")[(Int(token) * E)..<(Int(token) * E + E)])
    }

    /// One step of one direction: (h, c) from x and (h_{t-1}, c_{t-1}).
    private func step(_ s: String, x: [Double], h: [Double], c: [Double]) -> (h: [Double], c: [Double]) {
        let H = config.hidden
        let xi = add(times(w("rnn.weight_ih_\(s)"), x), w("rnn.bias_ih_\(s)"))
        let hh = add(times(w("rnn.weight_hh_\(s)"), h), w("rnn.bias_hh_\(s)"))
        switch config.cell {
        case .rnn:
            let a = add(xi, hh)
            return (a.map { config.activation == .relu ? max($0, 0) : tanh($0) }, c)
        case .lstm:
            let a = add(xi, hh)
            let i = part(a, 0, H).map(σ), f = part(a, 1, H).map(σ), g = part(a, 2, H).map(tanh), o = part(a, 3, H).map(σ)
            let cNew = (0..<H).map { f[$0] * c[$0] + i[$0] * g[$0] }
            return ((0..<H).map { o[$0] * tanh(cNew[$0]) }, cNew)
        case .gru:
            let r = add(part(xi, 0, H), part(hh, 0, H)).map(σ)
            let z = add(part(xi, 1, H), part(hh, 1, H)).map(σ)
            let n: [Double]
            let Whn = Array(w("rnn.weight_hh_\(s)")[(2 * H * H)...]), bhn = part(w("rnn.bias_hh_\(s)"), 2, H)
            if config.gruVariant == .linearBeforeReset {
                // n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))
                let inner = add(times(Whn, h), bhn)
                n = (0..<H).map { tanh(part(xi, 2, H)[$0] + r[$0] * inner[$0]) }
            } else {
                // n = tanh(x W_in + b_in + b_hn + (r ⊙ h) W_hn)
                let rh = (0..<H).map { r[$0] * h[$0] }
                n = add(add(part(xi, 2, H), bhn), times(Whn, rh)).map(tanh)
            }
            return ((0..<H).map { z[$0] * h[$0] + (1 - z[$0]) * n[$0] }, c)
        case .mlp:
            fatalError("no recurrent step in the MLP")
        }
    }

    /// `initialState` [n × width], per sequence: for each layer, for each direction, h then (LSTM) c.
    func run(_ batch: Batch, initialState: [Double]?) -> Output {
        let n = batch.sequences, steps = batch.steps, H = config.hidden
        let D = config.cell == .mlp ? 1 : config.directions, L = config.cell == .mlp ? 0 : config.layers
        let per = config.cell == .lstm ? 2 * H : H, width = L * D * per
        let state = initialState ?? [Double](repeating: 0, count: n * width)
        var finalState = [Double](repeating: 0, count: n * width)
        // Decoder inputs y[t][i].
        var y: [[[Double]]]
        if config.cell == .mlp {
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
                        var h = Array(row[0..<H]), c = config.cell == .lstm ? Array(row[H...]) : []
                        for t in d == 0 ? Array(0..<steps) : (0..<steps).reversed() {
                            (h, c) = step(s, x: x[t][i], h: h, c: c)
                            out[t][i] += h
                        }
                        for j in 0..<H { finalState[i * width + column + j] = h[j] }
                        for j in 0..<c.count { finalState[i * width + column + H + j] = c[j] }
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
