import Foundation
import Numerics

/// `state.safetensors`: what a resume needs beyond the weights. Tensors `optimizer.first` and
/// `optimizer.second` (the moments, when the optimizer has them) and `states` [B × state width]
/// (the carried hidden state of every stream in global order, stream mode only); counters in
/// `__metadata__`. Nothing in it depends on the world size that wrote it.
public struct TrainingState: Equatable {
    public static let name = "state.safetensors"

    public var step = 0
    public var optimizerUpdates = 0
    public var skippedSteps = 0
    public var tokens = 0
    public var elapsed = 0.0
    public var first: [Float] = []
    public var second: [Float] = []
    public var states: [Float] = []
    public var stateWidth = 0

    public init() {}

    public func encode() -> [UInt8] {
        var tensors: [SafeTensors.Tensor] = []
        func add(_ name: String, _ values: [Float], _ shape: [Int]) {
            guard !values.isEmpty else { return }
            values.withUnsafeBufferPointer { tensors.append(.float32(name: name, shape: shape, values: $0)) }
        }
        add("optimizer.first", first, [first.count])
        add("optimizer.second", second, [second.count])
        add("states", states, [states.count / max(1, stateWidth), stateWidth])
        let metadata = ["format": "rnntrain-state", "step": String(step), "optimizer_updates": String(optimizerUpdates),
                        "skipped_steps": String(skippedSteps), "tokens": String(tokens), "elapsed_s": String(elapsed)]
        return SafeTensors.encode(tensors, metadata: metadata)
    }

    public static func decode(_ bytes: [UInt8], source: String) throws -> TrainingState {
        let (tensors, metadata) = try SafeTensors.decodeWithMetadata(bytes, source: source)
        guard metadata["format"] == "rnntrain-state" else { throw UserError("\(source): not an rnntrain training state") }
        func integer(_ key: String) throws -> Int {
            guard let text = metadata[key], let value = Int(text), value >= 0 else {
                throw UserError("\(source): metadata \(key) is missing or not a count")
            }
            return value
        }
        var s = TrainingState()
        s.step = try integer("step")
        s.optimizerUpdates = try integer("optimizer_updates")
        s.skippedSteps = try integer("skipped_steps")
        s.tokens = try integer("tokens")
        s.elapsed = Double(metadata["elapsed_s"] ?? "") ?? 0
        if let t = tensors["optimizer.first"] { s.first = try t.floats() }
        if let t = tensors["optimizer.second"] { s.second = try t.floats() }
        if let t = tensors["states"] {
            guard t.shape.count == 2 else { throw UserError("\(source): states must be a matrix, has shape \(t.shape)") }
            s.states = try t.floats()
            s.stateWidth = t.shape[1]
        }
        return s
    }
}
