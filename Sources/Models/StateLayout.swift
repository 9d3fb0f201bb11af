/// The carried state of one sequence, as one row of a state matrix [n × width]:
/// for each layer, for each direction, h (and for the LSTM then c), each h wide.
/// Row-per-sequence keeps a sequence's state contiguous, so states of a batch split over ranks
/// are gathered by concatenating rows.
public struct StateLayout: Equatable, Sendable {
    public let layers: Int
    public let directions: Int
    public let hidden: Int
    public let hasCell: Bool

    public init(config: ModelConfig) {
        let recurrent = config.cell != .mlp
        layers = recurrent ? config.layers : 0
        directions = config.directions
        hidden = config.hidden
        hasCell = config.cell == .lstm
    }

    var perDirection: Int { hidden * (hasCell ? 2 : 1) }

    /// Elements per sequence.
    public var width: Int { layers * directions * perDirection }

    /// Column of h for (layer, direction); c follows at + hidden.
    public func offset(layer: Int, direction: Int) -> Int {
        (layer * directions + direction) * perDirection
    }
}
