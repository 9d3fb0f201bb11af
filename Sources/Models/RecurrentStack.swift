import Kernels
import ModelSpec

/// The recurrent language model's body: L layers, each one or two `RecurrentDirection`s of the
/// config's cell; layer l reads layer l−1's outputs at the same t, both directions' side by
/// side [τ·n × 2h] when bidirectional.
final class RecurrentStack<T: Scalar>: ModelBody {
    let config: ModelConfig
    let stateLayout: StateLayout
    let encoder: Int
    /// directions[layer][direction].
    let directions: [[RecurrentDirection<T>]]
    /// Bidirectional layer outputs, both directions side by side [τ·n × 2h]; empty otherwise.
    let concatenated: [Buffer<T>]
    /// Where each layer's tensors begin in storage (its directions are stored together).
    let layerStorage: [Int]
    var storageStart: Int { layerStorage[config.layers - 1] }

    init(config: ModelConfig, layout: ParameterLayout, steps: Int, sequences: Int, arena: Arena<T>,
         products: Products<T>) {
        self.config = config
        stateLayout = StateLayout(config: config)
        encoder = layout["encoder.weight"].offset
        directions = (0..<config.layers).map { layer in
            (0..<config.directions).map { direction in
                RecurrentDirection(config: config, layout: layout, layer: layer, direction: direction, steps: steps,
                                   sequences: sequences, arena: arena, prefix: ActivationPlan.prefix(layer, direction),
                                   products: products)
            }
        }
        concatenated = config.bidirectional ? (0..<config.layers).map { arena.take("l\($0).concatenated") } : []
        layerStorage = (0..<config.layers).map { l in
            (0..<config.directions).map { layout["rnn.weight_ih_\(ParameterLayout.suffix(layer: l, direction: $0))"].offset }.min()!
        }
    }

    /// Input of layer l [τ·n × inputSize(l)].
    private func layerInput(_ l: Int, _ ws: Workspace<T>, usedDropout: Bool) -> UnsafeMutablePointer<T> {
        if usedDropout { return ws.dropout[l].output.base }
        return l == 0 ? ws.embedded.base : layerOutput(l - 1)
    }

    /// Output of layer l [τ·n × h·dirs].
    private func layerOutput(_ l: Int) -> UnsafeMutablePointer<T> {
        config.bidirectional ? concatenated[l].base : directions[l][0].output
    }

    func forward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, initialState: Buffer<T>,
                 dropout: ((Int, UnsafePointer<T>, Int) -> Void)?) -> UnsafeMutablePointer<T> {
        let rows = ws.rows
        batch.inputs.withUnsafeBufferPointer { tokens in
            T.embeddingForward(rows: rows, width: config.embedding, table: p + encoder,
                               tokens: tokens.baseAddress!, out: ws.embedded.base, ldout: config.embedding)
        }
        dropout?(0, ws.embedded.base, config.embedding)
        let width = stateLayout.width, h = config.hidden, D = config.decoderInput
        for l in 0..<config.layers {
            let x = layerInput(l, ws, usedDropout: dropout != nil)
            for (k, direction) in directions[l].enumerated() {
                let column = stateLayout.offset(layer: l, direction: k)
                direction.loadInitialState(initialState.base + column, ld: width)
                direction.forward(parameters: p, x: x, ldx: config.inputSize(layer: l))
                direction.storeFinalState(ws.finalState.base + column, ld: width)
                if config.bidirectional {
                    T.copyRows(rows: rows, cols: h, src: direction.output, lds: h,
                               dst: concatenated[l].base + k * h, ldd: D)
                }
            }
            dropout?(l + 1, layerOutput(l), D)
        }
        return layerOutput(config.layers - 1)
    }

    func backward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, gradients g: UnsafeMutablePointer<T>,
                  dy: Buffer<T>, dx: Buffer<T>, usedDropout: Bool, initialStateGradient: Buffer<T>?,
                  poll: (() -> Void)?, finish: (Int) -> Void) {
        let rows = ws.rows, h = config.hidden, D = config.decoderInput, width = stateLayout.width
        var dy = dy, dx = dx
        for l in (0..<config.layers).reversed() {
            let d = config.inputSize(layer: l)
            let x = layerInput(l, ws, usedDropout: usedDropout)
            for (k, direction) in directions[l].enumerated() {
                direction.backward(parameters: p, gradients: g, x: x, ldx: d, dy: dy.base + k * h, ldy: D, poll: poll)
                if let target = initialStateGradient {
                    direction.storeInitialStateGradient(target.base + stateLayout.offset(layer: l, direction: k), ld: width)
                }
            }
            // The layer's weights are final before its input gradient is computed, so their sum
            // can run during that GEMM.
            finish(l > 0 ? layerStorage[l - 1] : encoder)
            for (k, direction) in directions[l].enumerated() {
                direction.inputGradient(parameters: p, dx: dx.base, lddx: d, accumulate: k > 0, poll: poll)
            }
            poll?()
            if usedDropout { ws.dropout[l].backward(dx.base, rows: rows) }
            swap(&dy, &dx)
        }
        batch.inputs.withUnsafeBufferPointer { tokens in
            T.embeddingBackward(rows: rows, width: config.embedding, dtable: g + encoder,
                                tokens: tokens.baseAddress!, dout: dy.base, lddout: config.embedding)
        }
    }
}

extension ActivationPlan {
    /// Arena names of layer l, direction k.
    static func prefix(_ layer: Int, _ direction: Int) -> String { "l\(layer).d\(direction)." }

    /// Every direction's buffers, and each bidirectional layer's concatenated output [τ·n × 2h].
    static func recurrentStack(_ config: ModelConfig, steps: Int, sequences: Int, precision: MatmulPrecision) -> [ArenaEntry] {
        let cell = CellRegistry.cell(for: config), shape = ScanShape(steps: steps, sequences: sequences, hidden: config.hidden)
        var entries: [ArenaEntry] = []
        for layer in 0..<config.layers {
            for k in 0..<config.directions {
                entries += direction(prefix(layer, k), cell: cell, shape: shape, precision: precision)
            }
            if config.bidirectional {
                entries.append(.scalars("l\(layer).concatenated", shape.steps * shape.sequences * 2 * shape.hidden))
            }
        }
        return entries
    }
}
