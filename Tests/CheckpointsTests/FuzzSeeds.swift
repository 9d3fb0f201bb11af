@testable import Checkpoints
@testable import Config
import Foundation
import Models
@testable import TextData

/// Valid inputs for every reader, built in the test from tiny models so the mutation fuzzer (and
/// HostileInputTests) start from files the real writers produce: a checkpoint's model.safetensors,
/// state.safetensors, config.yaml and SHA256SUMS, plus a hand-written config using more of YAML.
enum FuzzSeeds {
    struct Checkpoint {
        let label: String
        let model: [UInt8]
        let state: [UInt8]
        let config: String
        var files: [String: [UInt8]] {
            [ModelFile.name: model, TrainingState.name: state, Checkpoints.Checkpoint.configName: Array(config.utf8)]
        }
        /// SHA256SUMS as the store writes it.
        var manifest: String {
            files.keys.sorted().map { SHA256.hex(SHA256.hash(files[$0]!)) + "  " + $0 + "\n" }.joined()
        }
    }

    /// Tiny checkpoints that together use every tensor kind and metadata field: an LSTM on
    /// characters with Adam and carried states; a tied bidirectional GRU with a mask token; the
    /// windowed MLP on words with RMSprop; and (larger, so the fuzzer picks it less often, see
    /// `isLarge`) a byte-level MLP, the one tokenizer whose vocabulary has a fixed 256 entries.
    static let checkpoints: [Checkpoint] = [
        make("lstm-char", text: "abc\nab", kind: .char, mask: false, overrides: [
            "model.cell=lstm", "model.layers=1", "model.hidden=3", "model.embedding=2", "data.mode=stream",
            "train.global_batch=2", "optimizer.type=adam"], moments: 2, streams: 2),
        make("bigru-char-mask", text: "xyz", kind: .char, mask: true, overrides: [
            "model.cell=gru", "model.layers=1", "model.hidden=1", "model.embedding=2", "model.bidirectional=true",
            "model.tie_weights=true", "model.gru_variant=linear-before-reset", "data.mode=windows",
            "data.task=fill-in-the-middle", "optimizer.type=sgd", "optimizer.momentum=0.9"], moments: 1, streams: 0),
        make("mlp-word", text: "the cat sat\nthe mat\n", kind: .word, mask: false, overrides: [
            "model.cell=mlp", "model.layers=1", "model.hidden=3", "model.embedding=2", "model.context=2",
            "data.mode=windows", "optimizer.type=rmsprop"], moments: 1, streams: 0),
        make("mlp-byte", text: "x", kind: .byte, mask: false, overrides: [
            "model.cell=mlp", "model.layers=1", "model.hidden=1", "model.embedding=1", "model.context=1",
            "data.mode=windows", "optimizer.type=sgd"], moments: 0, streams: 0),
    ]

    /// Seeds of several kilobytes, which cost the debug-build fuzzer more time per input.
    static func isLarge(_ checkpoint: Checkpoint) -> Bool { checkpoint.model.count > 4096 }

    private static func make(_ label: String, text: String, kind: TokenizerKind, mask: Bool, overrides: [String],
                             moments: Int, streams: Int) -> Checkpoint {
        do {
            let config = try TrainingConfig.parse(yaml: "", source: label, overrides: overrides + ["data.tokenizer=\(kind.rawValue)"])
            let vocabulary = try Vocabulary.build(kind: kind, text: Array(text.utf8), source: label, minCount: 1, withMask: mask)
            var modelConfig = config.model
            modelConfig.vocabulary = vocabulary.count
            let model = try Model<Float>(config: modelConfig, seed: 3)
            var state = TrainingState()
            state.step = 7
            state.optimizerUpdates = 6
            state.skippedSteps = 1
            state.tokens = 1234
            state.elapsed = 12.5
            let count = model.layout.count
            if moments >= 1 { state.first = (0..<count).map { Float($0) * 0.01 } }
            if moments == 2 { state.second = (0..<count).map { Float($0) * 0.001 } }
            if streams > 0 {
                state.stateWidth = model.stateLayout.width
                state.states = (0..<(streams * state.stateWidth)).map { Float($0) * 0.1 - 0.5 }
            }
            return Checkpoint(label: label, model: ModelFile.encode(model: model, vocabulary: vocabulary),
                              state: state.encode(), config: config.yaml())
        } catch {
            fatalError("fuzz seed \(label): \(error)")
        }
    }

    /// A config that uses comments, flow and block collections, quoting styles, nulls and other
    /// integer forms, so mutations have more of YAML's syntax to work on.
    static let handWrittenConfig = """
    # every section, several styles
    model: {cell: gru, activation: relu, layers: 3, hidden: 0x80, embedding: 256, bidirectional: yes,
            gru_variant: "linear-before-reset", dropout: 0.25, tie_weights: true, context: 4}
    data:
      path: 'corpus/train.txt'   # single-quoted
      val_path: ~
      val_fraction: 5.0e-2
      tokenizer: word
      min_count: 3
      mode: windows
      task: fill-in-the-middle
      mask_rate: .3
    train:
      global_batch: 48
      seq_len: 35
      steps: 5_000
      epochs: 2
      accumulate: 4
      seed: 18446744073709551615
      deterministic: on
      deterministic_group: 4
      check_every: 0o62
      step_timeout: 120.5
    optimizer:
      type: sgd
      lr: 0.5
      momentum: 0.9
      nesterov: true
      betas:
        - 0.8
        - 0.95
      eps: 1e-6
      weight_decay: 0.01
      alpha: 0.9
    schedule: {type: cosine, warmup: 100, step_size: 2000, gamma: 0.1, min_lr: 1.0e-4}
    clip:
      max_norm: 0.25
      nonfinite: abort
    checkpoint:
      every: 0
      keep: 5
    log:
      every: 1
      eval_every: 0
      eval_tokens: 4096
    bench:
      vocabulary: 10000
    """

    /// Every config seed: the hand-written one and each checkpoint's resolved config.
    static var configs: [String] { [handWrittenConfig] + checkpoints.map(\.config) }
}
