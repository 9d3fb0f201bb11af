import Foundation
import ModelSpec

/// What the code around the model asks of a recurrent cell, stated once by the cell itself
/// (`RecurrentCell` adds the step it computes): the configurations it computes, its gate
/// blocks and state, its counterparts in PyTorch and ONNX where they exist, and the equations
/// of one step in plain Double that the tests compare the kernels with.
/// `CellRegistry.kind(for:)` finds the cell of a config.
public protocol CellKind {
    /// The configurations this cell computes, by name (`rnn-tanh`, `rnn-relu`); a config is the
    /// cell's when one of them matches it.
    static var forms: [CellForm] { get }
    /// The gate blocks of `weight_ih`'s rows, in the order the parameters hold them (PyTorch's
    /// where PyTorch has the cell): G = `gates.count`.
    static var gates: [String] { get }
    /// The parts of the carried state, each h wide: `["h"]`, or `["h", "c"]` (the ONNX graph's
    /// `h0`, `c0` inputs are named after them).
    static var state: [String] { get }
    /// The PyTorch module with the same parameters and equations (`nn.LSTM`), if any.
    static var pytorchModule: String? { get }
    /// The ONNX operator computing the cell, if any; `rnntrain export` refuses a cell without one.
    static var onnx: ONNXOperator? { get }
    /// One step of one direction from the cell's equations: the new state's parts from x [d] and
    /// the previous parts, in plain Double and PyTorch's layout (`w`).
    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]]
}

extension CellKind {
    static var state: [String] { ["h"] }
    static var pytorchModule: String? { nil }
    static var onnx: ONNXOperator? { nil }
}

/// An ONNX recurrent operator (opset 17's `RNN`, `GRU`, `LSTM`) as a cell maps onto it.
public struct ONNXOperator: Sendable {
    public let type: String
    /// For each of the operator's gate blocks in turn, the cell's block it is.
    public let blocks: [Int]
    /// Attributes beyond `hidden_size` and `direction`, which every operator takes.
    public let attributes: @Sendable (ModelConfig) -> [(String, ONNXAttribute)]

    init(_ type: String, blocks: [Int], attributes: @escaping @Sendable (ModelConfig) -> [(String, ONNXAttribute)] = { _ in [] }) {
        self.type = type
        self.blocks = blocks
        self.attributes = attributes
    }
}

public enum ONNXAttribute: Equatable, Sendable {
    case int(Int)
    case strings([String])
}

/// One direction's tensors in PyTorch's layout as plain Doubles, for `CellKind.reference`.
public struct ReferenceWeights {
    public let hidden: Int
    /// weight_ih [G·h × d], weight_hh [G·h × h], bias_ih and bias_hh [G·h], row-major.
    public let ih: [Double], hh: [Double], biasIH: [Double], biasHH: [Double]
    /// W v for W [rows × v.count] row-major: the caller's product, which may round its operands.
    public let times: ([Double], [Double]) -> [Double]

    public init(hidden: Int, ih: [Double], hh: [Double], biasIH: [Double], biasHH: [Double],
                times: @escaping ([Double], [Double]) -> [Double]) {
        self.hidden = hidden
        self.ih = ih
        self.hh = hh
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.times = times
    }

    /// x W_ihᵀ + b_ih, as its G blocks of h.
    func input(_ x: [Double]) -> [[Double]] {
        let all = sum(times(ih, x), biasIH), h = hidden
        return (0..<(all.count / h)).map { Array(all[($0 * h)..<(($0 + 1) * h)]) }
    }

    /// v W_hhᵀ + b_hh of gate block k [h].
    func recurrent(_ v: [Double], block k: Int) -> [Double] {
        let h = hidden
        return sum(times(Array(hh[(k * h * h)..<((k + 1) * h * h)]), v), Array(biasHH[(k * h)..<((k + 1) * h)]))
    }
}

func sum(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 + $1 } }
func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
