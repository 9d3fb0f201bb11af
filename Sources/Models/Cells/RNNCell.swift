import Foundation
import Kernels
import ModelSpec

/// The vanilla RNN, H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h), φ ∈ {tanh, relu}: one gate block,
/// and φ's kernels are the MLP's activation kernels (kernels.h), so it has no C file of its own.
struct RNNCell: RecurrentCell {
    static let forms = [CellForm("rnn-tanh", .rnn, activation: .tanh), CellForm("rnn-relu", .rnn, activation: .relu)]
    static let gates = ["h"]
    static let pytorchModule: String? = "nn.RNN"
    static let onnx: ONNXOperator? = ONNXOperator("RNN", blocks: [0]) { c in
        [("activations", .strings(Array(repeating: c.activation == .relu ? "Relu" : "Tanh", count: c.directions)))]
    }

    let relu: Bool

    init(config: ModelConfig) { relu = config.activation == .relu }

    func forward<T: Scalar>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        d.addRecurrentProduct(s.previous, columns: 0, width: d.hidden, into: s.gates, ldc: d.hidden)
        T.actForward(rows: d.sequences, width: d.hidden, relu: relu, pre: s.gates, bias: d.bias.base, out: s.output)
    }

    func backward<T: Scalar>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let dh = d.stateGradients[0].base
        T.actBackward(n: d.sequences, h: d.hidden, relu: relu, out: s.output, dup: upstream, ldup: ld,
                      drec: dh, dpre: s.gates)
        d.recurrentInputGradient(s.gates, lda: d.hidden, rows: 0, count: d.hidden, parameters: p, into: dh, accumulate: false)
    }

    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        d.addRecurrentWeightGradient(d.dgates.base, rows: 0, count: d.gateWidth, times: d.previous, gradients: gp)
        d.addFoldedBiasGradient(gradients: gp)
    }

    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]] {
        let a = sum(w.input(x)[0], w.recurrent(state[0], block: 0))
        return [a.map { config.activation == .relu ? max($0, 0) : tanh($0) }]
    }
}
