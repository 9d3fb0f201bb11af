import Kernels
import ModelSpec

/// One recurrent cell: the step it computes forward and backward, the state it carries, what it
/// saves per step for backward, and its share of the weight gradients. `RecurrentDirection`
/// scans a cell over time in either order; the cell never sees the order.
///
/// Every cell has PyTorch's four tensors per direction, `weight_ih` [G·h × d], `weight_hh`
/// [G·h × h], `bias_ih` and `bias_hh` [G·h], initialised U(±1/√h) as nn.RNN/LSTM/GRU do
/// (see `ParameterLayout` and `initialize`); G and the gate order are the cell's.
///
/// Steps see the pre-activations of step t in `gates` [n × G·h], already holding x_t W_ihᵀ from
/// the one input-projection GEMM of all τ steps; the kernels add `RecurrentDirection.bias`.
/// Backward writes ∂loss/∂pre-activations over the same memory (`dgates` aliases `gates`), and
/// ∂loss/∂h_{t-1} into `stateGradients[0]` for the next step back.
protocol RecurrentCell: CellKind {
    /// Whether the kernels' bias is b_ih + b_hh (else b_ih alone: b_hh is the cell's to place).
    static var foldsRecurrentBias: Bool { get }
    /// Buffers the cell keeps per direction beyond gates and states, in the order `saved` holds them.
    static func saved(_ shape: ScanShape) -> [ArenaEntry]

    init(config: ModelConfig)

    /// Step t forward: from gates (x_t W_ihᵀ) and h_{t-1} [n × h] (`previous`) to h_t (`output`).
    func forward<T: Scalar>(_ step: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>)
    /// Step t backward: ∂loss/∂h_t is `upstream` [n × h] (leading dimension `ld`) from above plus
    /// the carried `stateGradients`; leaves ∂loss/∂pre-activations in gates and ∂loss/∂state_{t-1}
    /// in `stateGradients`.
    func backward<T: Scalar>(_ step: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>)
    /// Adds ∂loss/∂W_hh and ∂loss/∂b_hh of all τ steps; dgates and the b_ih gradient are done.
    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>)
}

extension RecurrentCell {
    /// G, the gate blocks of h per hidden unit.
    static var gateCount: Int { gates.count }
    /// Parts of the carried state, each h wide.
    static var stateParts: Int { state.count }
    static var foldsRecurrentBias: Bool { true }
    static func saved(_ shape: ScanShape) -> [ArenaEntry] { [] }
}

/// Pointers of one time step t, in the direction's buffers.
struct Step<T: Scalar> {
    let t: Int
    /// Pre-activations, then activations [n × G·h]; in backward, their gradient.
    let gates: UnsafeMutablePointer<T>
    /// h_{t-1} (h_{t+1} in reverse) [n × h].
    let previous: UnsafeMutablePointer<T>
    /// h_t [n × h].
    let output: UnsafeMutablePointer<T>
}

/// A configuration a cell computes and the name the gradient check and the tests call it by.
public struct CellForm: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    /// The config's `model.cell`.
    public let cell: Cell
    /// The φ and GRU variant the form fixes; nil where the cell reads neither, so any matches.
    public let activation: Activation?
    public let gruVariant: GRUVariant?

    /// `cell` defaults to the cell named `name`.
    init(_ name: String, _ cell: Cell? = nil, activation: Activation? = nil, gruVariant: GRUVariant? = nil) {
        self.name = name
        self.cell = cell ?? Cell(named: name)
        self.activation = activation
        self.gruVariant = gruVariant
    }

    /// Whether `config` is this form.
    func matches(_ config: ModelConfig) -> Bool {
        config.architecture == .recurrent(cell) && activation.map { $0 == config.activation } != false
            && gruVariant.map { $0 == config.gruVariant } != false
    }

    /// Sets the config's cell, and its φ and GRU variant to the form's or their defaults.
    public func apply(to config: inout ModelConfig) {
        let defaults = ModelConfig()
        config.architecture = .recurrent(cell)
        config.activation = activation ?? defaults.activation
        config.gruVariant = gruVariant ?? defaults.gruVariant
    }

    public var description: String { name }
}
