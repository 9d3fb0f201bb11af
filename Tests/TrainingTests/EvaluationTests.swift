import Collectives
import Foundation
import Kernels
import ModelSpec
import Models
@testable import TextData
import Training
import TrainingSupport
import XCTest

/// Held-out loss: streams read with carried state, and fill-in-the-middle over masked positions.
final class EvaluationTests: XCTestCase {
    private let comm = SingleProcessCommunicator()

    /// The first 50 characters of the fixture text as tokens, and its vocabulary.
    private func tokens(withMask: Bool = false) throws -> (tokens: [Int32], vocabulary: Vocabulary) {
        let text = Array(TrainingTestFixtures.text.utf8.prefix(50))
        let v = try Vocabulary.build(kind: .char, text: text, source: "eval.txt", minCount: 1, withMask: withMask)
        return (try v.encode(text, source: "eval.txt").tokens, v)
    }

    private func model(_ v: Vocabulary, architecture: Architecture = .recurrent(.lstm), bidirectional: Bool = false) throws -> Model<Float> {
        var c = ModelConfig()
        c.architecture = architecture
        c.layers = architecture == .windowedMLP ? 1 : 2
        c.hidden = 8
        c.embedding = 6
        c.context = 4
        c.bidirectional = bidirectional
        c.vocabulary = v.count
        return try Model<Float>(config: c, seed: 5)
    }

    /// One stream = the text itself: chunk c is inputs [cτ, min((c+1)τ, T−1)), targets one on.
    private func chunk(_ tokens: [Int32], _ range: Range<Int>) -> Batch {
        Batch(steps: range.count, sequences: 1, inputs: Array(tokens[range]),
              targets: Array(tokens[(range.lowerBound + 1)..<(range.upperBound + 1)]))
    }

    func testOneStreamIsTheSumOfCarriedChunkLosses() throws {
        let (tokens, v) = try tokens()
        let m = try model(v), tau = 6, T = tokens.count
        let result = try Evaluation.streamLoss(model: m, tokens: tokens, streams: 1, steps: tau, comm: comm, source: "eval.txt")
        XCTAssertEqual(result.count, T - 1)

        // The same chunks with the state carried by hand.
        let state = Buffer<Float>(count: m.stateLayout.width)
        var carried = 0.0, reset = 0.0
        for begin in stride(from: 0, to: T - 1, by: tau) {
            let batch = chunk(tokens, begin..<min(begin + tau, T - 1))
            carried += try m.evaluate(batch, initialState: state).loss
            state.copy(from: m.finalState)
            reset += try m.evaluate(batch).loss
        }
        XCTAssertEqual(result.loss, carried, accuracy: 1e-9 * carried)
        // Carrying is what makes it: restarting every chunk from zero gives another loss.
        XCTAssertGreaterThan(abs(reset - carried), 1e-4 * carried)
        // And carrying is exact: one chunk over the whole text gives the same loss up to Float
        // rounding of the same recurrences (1e-5 relative).
        let whole = try m.evaluate(chunk(tokens, 0..<(T - 1)))
        XCTAssertEqual(whole.count, T - 1)
        XCTAssertEqual(result.loss, whole.loss, accuracy: 1e-5 * whole.loss)
    }

    /// The MLP reads k − 1 tokens of history across chunk boundaries: chunked evaluation equals
    /// one pass over the whole text.
    func testMLPStreamLossUsesHistoryAcrossChunks() throws {
        let (tokens, v) = try tokens()
        let m = try model(v, architecture: .windowedMLP), T = tokens.count
        let result = try Evaluation.streamLoss(model: m, tokens: tokens, streams: 1, steps: 5, comm: comm, source: "eval.txt")
        let whole = try m.evaluate(chunk(tokens, 0..<(T - 1)))
        XCTAssertEqual(result.count, T - 1)
        XCTAssertEqual(result.loss, whole.loss, accuracy: 1e-5 * whole.loss)
    }

    /// State reset every k tokens: each block of k inputs evaluated alone from the zero state, by
    /// hand, one at a time; any batching gives the same sum.
    func testResetLossIsTheSumOfBlocksFromTheZeroState() throws {
        let (tokens, v) = try tokens()
        let T = tokens.count
        for cell in [Cell.lstm, .gru, .rnn] {
            let m = try model(v, architecture: .recurrent(cell))
            for k in [1, 3, 7, 49, 100] {
                var byHand = 0.0
                for begin in stride(from: 0, to: T - 1, by: k) {
                    byHand += try m.evaluate(chunk(tokens, begin..<min(begin + k, T - 1))).loss
                }
                for perBatch in [1, 4, 1000] {
                    let r = try Evaluation.resetLoss(model: m, tokens: tokens, every: k, perBatch: perBatch, comm: comm)
                    XCTAssertEqual(r.count, T - 1, "\(cell) k \(k)")
                    XCTAssertEqual(r.loss, byHand, accuracy: 1e-6 * byHand, "\(cell) k \(k), \(perBatch) per batch")
                }
            }
            // A block as long as the text is full context: the carried stream's loss.
            let full = try Evaluation.streamLoss(model: m, tokens: tokens, streams: 1, steps: 6, comm: comm, source: "eval.txt")
            let once = try Evaluation.resetLoss(model: m, tokens: tokens, every: T, perBatch: 8, comm: comm)
            XCTAssertEqual(once.loss, full.loss, accuracy: 1e-5 * full.loss, "\(cell)")
            // The reset is real: an untrained model's state still moves its outputs.
            let one = try Evaluation.resetLoss(model: m, tokens: tokens, every: 1, perBatch: 8, comm: comm)
            XCTAssertNotEqual(one.loss, full.loss, "\(cell)")
        }
    }

    func testTokenCountWithSeveralStreams() throws {
        let (tokens, v) = try tokens()
        let m = try model(v), T = tokens.count
        for streams in [1, 2, 3] {
            let r = try Evaluation.streamLoss(model: m, tokens: tokens, streams: streams, steps: 6, comm: comm, source: "eval.txt")
            XCTAssertEqual(r.count, streams * ((T - 1) / streams), "\(streams) streams")
        }
    }

    /// Fill-in-the-middle scores exactly the positions whose input is the mask token, over every
    /// window of τ in file order; the loss is their cross-entropy, here recomputed in Double.
    func testFillLossCountsOnlyMaskedPositions() throws {
        let (tokens, v) = try tokens(withMask: true)
        let mask = v.maskToken!, tau = 6, rate = 0.3
        let m = try model(v, bidirectional: true)
        let result = try Evaluation.fillLoss(model: m, tokens: tokens, steps: tau, maskToken: mask, rate: rate,
                                             perBatch: 3, comm: comm, source: "eval.txt")

        let windows = try WindowBatches(tokens: tokens, globalBatch: 1, steps: tau, seed: Evaluation.fillSeed,
                                        fill: (mask, rate), source: "eval.txt", shifted: false)
        XCTAssertEqual(windows.windowCount, tokens.count / tau)
        var maskedInputs = 0, expected = 0.0, everyPosition = 0.0
        for w in 0..<windows.windowCount {
            var batch = windows.makeBatch(sequences: 0..<1)
            try windows.fillInOrder(&batch, first: w)
            XCTAssertEqual(Array(batch.targets), Array(tokens[(w * tau)..<((w + 1) * tau)]), "window \(w) in file order")
            let scored = batch.inputs.map { $0 == mask ? UInt8(1) : 0 }
            maskedInputs += scored.reduce(0) { $0 + Int($1) }
            _ = try m.evaluate(batch)
            expected += TrainingTestFixtures.crossEntropy(logits: m.logits, vocabulary: v.count, targets: batch.targets,
                                                          mask: scored).loss
            everyPosition += TrainingTestFixtures.crossEntropy(logits: m.logits, vocabulary: v.count,
                                                               targets: batch.targets).loss
        }
        XCTAssertEqual(result.count, maskedInputs)
        XCTAssertGreaterThanOrEqual(result.count, windows.windowCount)
        XCTAssertLessThan(result.count, windows.windowCount * tau)
        XCTAssertEqual(result.loss, expected, accuracy: 1e-5 * expected)
        XCTAssertGreaterThan(abs(everyPosition - expected), 1e-3 * expected)

        // Batching windows differently changes nothing.
        let one = try Evaluation.fillLoss(model: m, tokens: tokens, steps: tau, maskToken: mask, rate: rate,
                                          perBatch: 1, comm: comm, source: "eval.txt")
        XCTAssertEqual(one.count, result.count)
        XCTAssertEqual(one.loss, result.loss, accuracy: 1e-5 * result.loss)
    }
}
