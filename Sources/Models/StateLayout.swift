import ModelSpec

/// The carried state of one sequence, as one row of a state matrix [n × width]:
/// for each layer, for each direction, the cell's state parts (h, and for the LSTM then c),
/// each h wide.
/// Row-per-sequence keeps a sequence's state contiguous, so states of a batch split over ranks
/// are gathered by concatenating rows.
public struct StateLayout: Equatable, Sendable {
    public let layers: Int
    public let directions: Int
    public let hidden: Int
    /// State parts per direction: 1 (h) or 2 (h, c).
    public let parts: Int

    public init(config: ModelConfig) {
        let recurrent = !config.isWindowedMLP
        layers = recurrent ? config.layers : 0
        directions = config.directions
        hidden = config.hidden
        parts = recurrent ? CellRegistry.cell(for: config).stateParts : 0
    }

    var perDirection: Int { hidden * parts }

    /// Elements per sequence.
    public var width: Int { layers * directions * perDirection }

    /// Column of h for (layer, direction); a further part k follows at + k·hidden.
    public func offset(layer: Int, direction: Int) -> Int {
        (layer * directions + direction) * perDirection
    }
}
