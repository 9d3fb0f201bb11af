/// Bytes a model needs before any of them is allocated, so that a config too large for the
/// machine is refused with a message rather than a failed allocation or the OOM killer.
/// Counted in Double: the dimensions are capped, their products are not.
public enum MemoryEstimate {
    /// The activation arena `Workspace(config:steps:sequences:)` allocates for chunks of τ = `steps`
    /// × n = `sequences`, buffer by buffer as `Workspace.bytes` counts them.
    public static func activationBytes(config: ModelConfig, steps: Int, sequences: Int, scalarBytes: Int) -> Double {
        let T = Double(steps), n = Double(sequences), rows = T * n
        let h = Double(config.hidden), isMLP = config.cell == .mlp
        let inputWidth = Double(isMLP ? config.context * config.embedding : config.embedding)
        let widest = max(inputWidth, Double(config.decoderInput), h)
        var scalars = rows * inputWidth + rows * Double(config.vocabulary) + 2 * rows * widest
            + n * Double(StateLayout(config: config).width)
        var other = rows * 8 // row keys, UInt64
        if isMLP {
            scalars += rows * h
            other += rows * Double(config.context) * 4 // context tokens, Int32
        }
        if config.dropout > 0 {
            let sites = isMLP ? 1 : config.layers
            scalars += 2 * rows * (inputWidth + Double(sites) * Double(config.decoderInput))
        }
        if !isMLP {
            let directions = Double(config.layers * config.directions)
            let nh = n * h, tnh = T * nh
            let gateWidth = config.cell.gateCount * config.hidden
            let isLSTM = config.cell == .lstm, isGRU = config.cell == .gru
            let linearBeforeReset = config.gruVariant == .linearBeforeReset
            var perDirection = rows * Double(gateWidth) + (T + 1) * nh + 3 * nh
                + (sequences == 1 ? 0 : h * Double(paddedStride(gateWidth)))
            if isLSTM { perDirection += (T + 1) * nh + tnh }
            if isGRU { perDirection += linearBeforeReset ? tnh + 3 * nh + 3 * tnh : tnh }
            scalars += directions * perDirection
            if config.bidirectional { scalars += Double(config.layers) * rows * 2 * h }
        }
        return scalars * Double(scalarBytes) + other
    }
}
