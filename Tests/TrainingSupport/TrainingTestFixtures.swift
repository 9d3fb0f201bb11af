import Collectives
import Config
import Files
import Foundation
import Kernels
import ModelSpec
import Models
import TextData
import TestSupport
import Training
import XCTest

// Shared fixtures of the Training tests: a small text, tiny configs, temporary files, and
// plain-Double reference computations. Kept small so every model a test builds runs in
// milliseconds in a debug build.

public enum TrainingTestFixtures {
    /// 15 distinct characters (a c d e h m n o r s t ␠ . ; \n), varied enough that no chunk
    /// repeats another. 8 lines, 392 characters.
    public static let text = """
    a cat and a rat sat on the mat.
    the hat ate a red cone; then the cat ran.
    no rat had sent the cat a storm.
    a cod and a hen rode on a tram; the tram ran on.
    the dean sat near the stone and read.
    rats eat oats; cats eat rats; the moon sets.
    on the shore a crane stood near a torn net.
    the man made ten red hats and none had a seam.

    """

    /// Writes `text` to a new file in a temporary directory; returns its path.
    public static func corpusFile(_ test: XCTestCase, _ text: String = TrainingTestFixtures.text) throws -> String {
        let url = try temporaryDirectory(test, "corpus").appendingPathComponent("train.txt")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// A tiny LSTM run in stream mode with plain SGD, no clipping, no validation; `overrides`
    /// (`section.key=value`, applied in order) change it.
    public static func config(path: String, _ overrides: [String] = []) throws -> TrainingConfig {
        let yaml = """
        model:
          cell: lstm
          layers: 1
          hidden: 8
          embedding: 6
          dropout: 0
        data:
          path: "\(path)"
          val_fraction: 0
          tokenizer: char
          mode: stream
        train:
          global_batch: 4
          seq_len: 6
          steps: 3
          seed: 7
        optimizer:
          type: sgd
          lr: 0.5
        schedule:
          type: constant
        clip:
          max_norm: 0
        checkpoint:
          every: 0
          keep: 3
        log:
          every: 1000
          eval_every: 0
        """
        return try TrainingConfig.parse(yaml: yaml, source: "fixture.yaml", overrides: overrides)
    }

    /// A single-process Trainer for `config(path:overrides)` on `text`.
    public static func trainer(_ test: XCTestCase, text: String = TrainingTestFixtures.text,
                        _ overrides: [String] = []) throws -> Trainer {
        let config = try config(path: try corpusFile(test, text), overrides)
        return try Trainer(config: config, corpus: try corpus(config), comm: SingleProcessCommunicator())
    }

    /// The whole global batch of training step `step` as the trainer's source makes it.
    public static func globalBatch(_ trainer: Trainer, step: Int) throws -> Batch {
        let all = 0..<trainer.config.train.globalBatch
        var batch = try trainer.source.makeBatch(sequences: all)
        try trainer.source.fill(&batch, step: step, sequences: all)
        return batch
    }

    public static func corpus(_ config: TrainingConfig) throws -> Corpus {
        try Corpus.load(path: config.data.path, valPath: config.data.valPath, valFraction: config.data.valFraction,
                        tokenizer: config.data.tokenizer, minCount: config.data.minCount,
                        withMask: config.data.task == .fillInTheMiddle)
    }

    /// Σ over scored rows of −log softmax(logits)[target], in Double, with the scored count.
    /// Rows are time-major [τ·n × V]; a row is scored when its target is ≥ 0 and its mask (if any) is non-zero.
    public static func crossEntropy(logits: UnsafeBufferPointer<Float>, vocabulary V: Int, targets: [Int32],
                             mask: [UInt8]? = nil) -> (loss: Double, count: Int) {
        precondition(logits.count == targets.count * V, "logits do not match the targets")
        var loss = 0.0, count = 0
        for row in targets.indices where targets[row] >= 0 && (mask?[row] ?? 1) != 0 {
            let z = (0..<V).map { Double(logits[row * V + $0]) }
            let top = z.max()!
            let logSum = top + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - top) })
            loss += logSum - z[Int(targets[row])]
            count += 1
        }
        return (loss, count)
    }

    public static func bits(_ buffer: Buffer<Float>) -> [UInt32] { buffer.array.map(\.bitPattern) }
}

/// Fails unless every |actual − expected| ≤ absolute + relative·|expected|; reports the worst
/// element and where it is.
public func assertClose(_ actual: [Float], _ expected: [Double], relative: Double, absolute: Double,
                        _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(what): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var worst = (index: -1, excess: 0.0, difference: 0.0)
    for i in actual.indices {
        let difference = abs(Double(actual[i]) - expected[i])
        let excess = difference - (absolute + relative * abs(expected[i]))
        if !(excess <= 0) && (worst.index < 0 || !(excess <= worst.excess)) {
            worst = (i, excess, difference)
        }
    }
    if worst.index >= 0 {
        let i = worst.index
        XCTFail("\(what): element \(i) is \(actual[i]), expected \(expected[i]) (difference \(worst.difference))",
                file: file, line: line)
    }
}
