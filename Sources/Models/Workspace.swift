import Numerics

/// Every activation of one forward/backward pass, allocated once for a chunk shape (τ, n).
final class Workspace<T: Real> {
    let steps: Int
    let sequences: Int
    var rows: Int { steps * sequences }

    /// Recurrent layers: directions[layer][direction].
    let directions: [[RecurrentDirection<T>]]
    /// Bidirectional layer outputs, both directions side by side [τ·n × 2h]; empty otherwise.
    let concatenated: [Buffer<T>]
    /// Embedding output [τ·n × E] (for the MLP [τ·n × k·E], k embeddings per row).
    let embedded: Buffer<T>
    /// The MLP's token index per (row, context slot) [τ·n × k], and its hidden layer [τ·n × H].
    let contextTokens: Buffer<Int32>
    let hiddenLayer: Buffer<T>
    /// Dropout sites 0 ... L when dropout is on, else empty.
    let dropout: [DropoutSite<T>]
    let rowKeys: Buffer<UInt64>
    /// Decoder output, then ∂loss/∂logits [τ·n × V].
    let logits: Buffer<T>
    /// Two buffers of ∂loss/∂activations [τ·n × max width] that backward alternates between.
    let gradientA: Buffer<T>, gradientB: Buffer<T>
    /// Final state of the last forward [n × state width].
    let finalState: Buffer<T>

    /// Every buffer's bytes.
    var bytes: Int {
        var total = embedded.bytes + contextTokens.bytes + hiddenLayer.bytes + rowKeys.bytes + logits.bytes
            + gradientA.bytes + gradientB.bytes + finalState.bytes
        total += concatenated.reduce(0) { $0 + $1.bytes }
        total += dropout.reduce(0) { $0 + $1.output.bytes + $1.mask.bytes }
        for direction in directions.joined() {
            total += [direction.gates, direction.states, direction.cells, direction.tanhCells,
                      direction.resetHidden, direction.hiddenN, direction.recurrentGates, direction.dRecurrentGates,
                      direction.dh, direction.dc, direction.drh, direction.transposedWeights].reduce(0) { $0 + $1.bytes }
        }
        return total
    }

    init(config: ModelConfig, layout: ParameterLayout, steps: Int, sequences: Int) {
        self.steps = steps
        self.sequences = sequences
        let rows = steps * sequences
        let isMLP = config.cell == .mlp
        let L = isMLP ? 0 : config.layers
        directions = (0..<L).map { layer in
            (0..<config.directions).map { direction in
                RecurrentDirection(config: config, layout: layout, layer: layer, direction: direction,
                                   steps: steps, sequences: sequences)
            }
        }
        concatenated = config.bidirectional ? (0..<L).map { _ in Buffer(count: rows * 2 * config.hidden) } : []
        let inputWidth = isMLP ? config.context * config.embedding : config.embedding
        embedded = Buffer(count: rows * inputWidth)
        contextTokens = Buffer(count: isMLP ? rows * config.context : 0)
        hiddenLayer = Buffer(count: isMLP ? rows * config.hidden : 0)
        if config.dropout > 0 {
            let sites = isMLP ? 1 : config.layers
            dropout = (0...sites).map { site in
                DropoutSite(site: site, rows: rows, width: site == 0 ? inputWidth : config.decoderInput)
            }
        } else {
            dropout = []
        }
        rowKeys = Buffer(count: rows)
        logits = Buffer(count: rows * config.vocabulary)
        let widest = max(inputWidth, config.decoderInput, config.hidden)
        gradientA = Buffer(count: rows * widest)
        gradientB = Buffer(count: rows * widest)
        finalState = Buffer(count: sequences * StateLayout(config: config).width)
    }
}
