import ModelSpec

/// Every recurrent cell. A cell registered here is built by `Model`, counted by `MemoryEstimate`,
/// named by `model.cell`, exported to ONNX if it has an operator, and checked by the
/// gradient-check matrix, the forward-math, PyTorch-layout and memory tests, which all enumerate
/// `forms`.
public enum CellRegistry {
    static let all: [any RecurrentCell.Type] = [RNNCell.self, LSTMCell.self, GRUCell.self, GRULinearBeforeResetCell.self, MGUCell.self]
}

extension CellRegistry {
    /// The cell `config` asks for; the config must name a recurrent cell.
    static func cell(for config: ModelConfig) -> any RecurrentCell.Type {
        guard let cell = all.first(where: { $0.forms.contains { $0.matches(config) } }) else {
            preconditionFailure("no registered cell computes \(config.architecture) \(config.gruVariant)")
        }
        return cell
    }

    /// What the cell `config` asks for declares; the config must name a recurrent cell.
    public static func kind(for config: ModelConfig) -> any CellKind.Type { cell(for: config) }

    /// Every configuration of every registered cell, in registry order.
    public static var forms: [CellForm] { all.flatMap { $0.forms } }

    public static func form(named name: String) -> CellForm? { forms.first { $0.name == name } }

    /// G of the recurrent cell `config` asks for: W_ih is [G·h × d].
    public static func gateCount(_ config: ModelConfig) -> Int { cell(for: config).gateCount }
}

extension CellRegistry {
    /// The registered cells' names in registry order.
    public static var cells: [Cell] {
        var seen = Set<Cell>()
        return forms.map(\.cell).filter { seen.insert($0).inserted }
    }

    /// Every `model.cell` a config may name: the registered cells, then the MLP.
    public static var architectures: [Architecture] { cells.map(Architecture.recurrent) + [.windowedMLP] }

    /// Refuses a config whose `model.cell` no registered cell declares. Config reads a cell's name
    /// by its form only (it does not see the kernels), so every path by which a config enters from
    /// a file calls this before anything is built from it.
    public static func check(_ config: ModelConfig) throws {
        guard case .recurrent(let cell) = config.architecture, !cells.contains(cell) else { return }
        let choices = architectures.map(\.rawValue).joined(separator: ", ")
        throw ModelError.invalidConfig(key: "model.cell", reason: "expected one of \(choices), got \"\(cell)\"")
    }
}
