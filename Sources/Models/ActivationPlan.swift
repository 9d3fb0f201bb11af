import Kernels
import ModelSpec

/// One buffer of the activation arena: its name, element count and element type (llm.c's
/// `malloc_and_point` table). Counts are Double: the dimensions are capped, their products are
/// not, and a config far too large for any machine must still be sized to be refused.
struct ArenaEntry {
    enum Element { case scalar, int32, uint64 }

    let name: String
    let count: Double
    let element: Element

    static func scalars(_ name: String, _ count: Double) -> ArenaEntry { ArenaEntry(name: name, count: count, element: .scalar) }
    static func int32s(_ name: String, _ count: Double) -> ArenaEntry { ArenaEntry(name: name, count: count, element: .int32) }
    static func uint64s(_ name: String, _ count: Double) -> ArenaEntry { ArenaEntry(name: name, count: count, element: .uint64) }

    func prefixed(_ prefix: String) -> ArenaEntry { ArenaEntry(name: prefix + name, count: count, element: element) }

    func bytes(scalarBytes: Int) -> Double {
        switch element {
        case .scalar: return count * Double(scalarBytes)
        case .int32: return count * 4
        case .uint64: return count * 8
        }
    }
}

/// τ, n and h of one recurrent direction's scan, as the size table counts them.
struct ScanShape {
    let steps: Double
    let sequences: Double
    let hidden: Double

    init(steps: Int, sequences: Int, hidden: Int) {
        self.steps = Double(steps)
        self.sequences = Double(sequences)
        self.hidden = Double(hidden)
    }
}

/// The size table of every activation one forward/backward pass over chunks of τ = `steps` ×
/// n = `sequences` uses. `Workspace` allocates exactly these buffers and `MemoryEstimate` sums
/// exactly these bytes, so the estimate cannot drift from the allocation.
enum ActivationPlan {
    /// `precision`: bf16 keeps no transposed copy of W_hh (its products pack their own).
    static func entries(config: ModelConfig, steps: Int, sequences: Int, precision: MatmulPrecision = .fp32) -> [ArenaEntry] {
        let rows = Double(steps) * Double(sequences)
        let inputWidth = Double(config.embeddedWidth), decoderInput = Double(config.decoderInput)
        var entries: [ArenaEntry] = [.scalars("embedded", rows * inputWidth), .uint64s("rowKeys", rows),
                                     .scalars("logits", rows * Double(config.vocabulary))]
        if config.dropout > 0 {
            // Site 0 after the embedding, site l after layer l (the MLP has one layer).
            for site in 0...config.layers {
                let width = site == 0 ? inputWidth : decoderInput
                entries += [.scalars("dropout\(site).output", rows * width), .scalars("dropout\(site).mask", rows * width)]
            }
        }
        let widest = max(inputWidth, decoderInput, Double(config.hidden))
        entries += [.scalars("gradientA", rows * widest), .scalars("gradientB", rows * widest),
                    .scalars("finalState", Double(sequences) * Double(StateLayout(config: config).width))]
        if config.isWindowedMLP {
            entries += windowedMLP(config, rows: rows)
        } else {
            entries += recurrentStack(config, steps: steps, sequences: sequences, precision: precision)
        }
        return entries
    }
}

/// The buffers of a plan, each allocated once and handed out once by name.
final class Arena<T: Scalar> {
    private var scalars: [String: Buffer<T>] = [:]
    private var int32s: [String: Buffer<Int32>] = [:]
    private var uint64s: [String: Buffer<UInt64>] = [:]
    /// Every buffer's bytes.
    let bytes: Int

    init(_ entries: [ArenaEntry]) {
        var total = 0
        for e in entries {
            precondition(scalars[e.name] == nil && int32s[e.name] == nil && uint64s[e.name] == nil, "\(e.name) planned twice")
            let count = Int(e.count)
            switch e.element {
            case .scalar: let b = Buffer<T>(count: count); scalars[e.name] = b; total += b.bytes
            case .int32: let b = Buffer<Int32>(count: count); int32s[e.name] = b; total += b.bytes
            case .uint64: let b = Buffer<UInt64>(count: count); uint64s[e.name] = b; total += b.bytes
            }
        }
        bytes = total
    }

    func take(_ name: String) -> Buffer<T> {
        guard let b = scalars.removeValue(forKey: name) else { preconditionFailure("\(name) is not in the activation plan") }
        return b
    }

    func take(_ name: String) -> Buffer<Int32> {
        guard let b = int32s.removeValue(forKey: name) else { preconditionFailure("\(name) is not in the activation plan") }
        return b
    }

    func take(_ name: String) -> Buffer<UInt64> {
        guard let b = uint64s.removeValue(forKey: name) else { preconditionFailure("\(name) is not in the activation plan") }
        return b
    }

    /// Names planned but never taken: a plan that counts memory no pass uses.
    var untaken: [String] { Array(scalars.keys) + Array(int32s.keys) + Array(uint64s.keys) }
}
