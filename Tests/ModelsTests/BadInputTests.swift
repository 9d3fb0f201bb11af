import ModelSpec
import Models
import Kernels
import XCTest

/// What a caller can get wrong is thrown as a ModelError whose message names the problem, never a
/// trap; a rejected batch leaves the model untouched and usable.
final class BadInputTests: XCTestCase {
    private func assertModelError(_ what: String, mentions words: [String], file: StaticString = #filePath,
                                  line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(what): no error thrown", file: file, line: line)
        } catch let error as ModelError {
            let message = error.description
            for word in words {
                XCTAssertTrue(message.contains(word), "\(what): message \"\(message)\" does not mention \(word)",
                              file: file, line: line)
            }
        } catch {
            XCTFail("\(what): threw \(error), not a ModelError", file: file, line: line)
        }
    }

    // MARK: configurations

    func testZeroSizesAreRejected() {
        var c = makeConfig(.lstm)
        c.hidden = 0
        assertModelError("hidden 0", mentions: ["model.hidden"]) { _ = try Model<Float>(config: c) }
        c = makeConfig(.lstm)
        c.embedding = 0
        assertModelError("embedding 0", mentions: ["model.embedding"]) { _ = try Model<Float>(config: c) }
        c = makeConfig(.gru)
        c.layers = 0
        assertModelError("layers 0", mentions: ["model.layers"]) { _ = try Model<Float>(config: c) }
        c = makeConfig(.rnnTanh)
        c.vocabulary = 1
        assertModelError("vocabulary 1", mentions: ["model.vocabulary"]) { _ = try Model<Float>(config: c) }
        var mlp = makeMLPConfig()
        mlp.context = 0
        assertModelError("mlp context 0", mentions: ["model.context"]) { _ = try Model<Float>(config: mlp) }
        mlp = makeMLPConfig()
        mlp.hidden = 0
        assertModelError("mlp hidden 0", mentions: ["model.hidden"]) { _ = try Model<Float>(config: mlp) }
    }

    func testDropoutOutsideZeroToOneIsRejected() {
        for p in [1.0, 1.5, -0.1, .nan] {
            let c = makeConfig(.lstm, dropout: p)
            assertModelError("dropout \(p)", mentions: ["model.dropout"]) { _ = try Model<Double>(config: c) }
        }
    }

    func testTiedWeightsNeedEmbeddingEqualToDecoderInput() {
        var c = makeConfig(.lstm, bidirectional: true, embedding: 3, hidden: 3)
        c.tieWeights = true
        assertModelError("tied, E 3 ≠ 2·h 6", mentions: ["model.tie_weights", "3", "6"]) { _ = try Model<Float>(config: c) }
        c.embedding = 6
        XCTAssertNoThrow(try Model<Float>(config: c), "E = 2·h is tieable")
    }

    func testMLPHasOneLayerAndNoDirections() {
        var c = makeMLPConfig()
        c.layers = 2
        assertModelError("mlp layers 2", mentions: ["model.layers"]) { _ = try Model<Float>(config: c) }
        c = makeMLPConfig()
        c.bidirectional = true
        assertModelError("mlp bidirectional", mentions: ["model.bidirectional"]) { _ = try Model<Float>(config: c) }
    }

    // MARK: batches and states

    /// Each bad batch must be rejected by both evaluate and train, and train must not touch the gradients.
    private func assertRejected(_ model: Model<Double>, _ batch: Batch, _ what: String, mentions words: [String],
                                initialState: Buffer<Double>? = nil, file: StaticString = #filePath, line: UInt = #line) {
        assertModelError("evaluate, \(what)", mentions: words, file: file, line: line) {
            _ = try model.evaluate(batch, initialState: initialState)
        }
        model.zeroGradients()
        assertModelError("train, \(what)", mentions: words, file: file, line: line) {
            _ = try model.train(batch, initialState: initialState)
        }
        XCTAssertTrue(model.gradients.doubles.allSatisfy { $0 == 0 }, "train, \(what): gradients changed", file: file, line: line)
    }

    func testMismatchedBatchShapes() throws {
        let model = try Model<Double>(config: makeConfig(.lstm), seed: 1)
        let good = Batch(steps: 2, sequences: 2, inputs: [0, 1, 2, 3], targets: [1, 2, 3, 4])
        var b = good
        b.inputs = [0, 1, 2]
        assertRejected(model, b, "3 inputs for τ·n 4", mentions: ["inputs", "4"])
        b = good
        b.targets = [0, 1, 2, 3, 4]
        assertRejected(model, b, "5 targets for τ·n 4", mentions: ["targets", "4"])
        b = good
        b.mask = [1, 1, 1]
        assertRejected(model, b, "3 mask entries for τ·n 4", mentions: ["mask", "4"])
        // The model still works after rejecting them.
        XCTAssertNoThrow(try model.evaluate(good))
    }

    func testZeroStepsOrSequences() throws {
        let model = try Model<Double>(config: makeConfig(.gru), seed: 1)
        assertRejected(model, Batch(steps: 0, sequences: 2, inputs: [], targets: []), "τ 0", mentions: ["τ"])
        assertRejected(model, Batch(steps: 3, sequences: 0, inputs: [], targets: []), "n 0", mentions: ["n"])
    }

    func testTokensOutsideTheVocabulary() throws {
        let model = try Model<Double>(config: makeConfig(.rnnTanh, vocabulary: 5), seed: 1)
        assertRejected(model, Batch(steps: 1, sequences: 2, inputs: [0, 5], targets: [1, 2]), "input 5",
                       mentions: ["input", "5", "vocabulary"])
        assertRejected(model, Batch(steps: 1, sequences: 2, inputs: [0, -1], targets: [1, 2]), "input −1",
                       mentions: ["input", "-1", "vocabulary"])
        assertRejected(model, Batch(steps: 1, sequences: 2, inputs: [0, 1], targets: [1, 9]), "target 9",
                       mentions: ["target", "9", "vocabulary"])
    }

    func testMLPHistoryCountMustBeContextMinusOneRows() throws {
        let model = try Model<Double>(config: makeMLPConfig(context: 3), seed: 1)
        let b = Batch(steps: 1, sequences: 2, inputs: [0, 1], targets: [1, 2], history: [0, 1, 2])
        assertRejected(model, b, "3 history tokens for (k − 1)·n 4", mentions: ["history", "4"])
    }

    /// History tokens are embedded like inputs; one past the vocabulary would be read from beyond
    /// the embedding table. Only `evaluate` is tried here: an unchecked `train` would also write there.
    func testMLPHistoryTokenOutsideTheVocabulary() throws {
        let model = try Model<Double>(config: makeMLPConfig(vocabulary: 5, context: 2), seed: 1)
        let b = Batch(steps: 1, sequences: 2, inputs: [0, 1], targets: [1, 2], history: [5, 0])
        assertModelError("history token 5 with vocabulary 5", mentions: ["history", "5", "vocabulary"]) {
            _ = try model.evaluate(b)
        }
    }

    func testInitialStateOfTheWrongSize() throws {
        let model = try Model<Double>(config: makeConfig(.lstm, layers: 2, hidden: 2), seed: 1)
        let batch = Batch(steps: 1, sequences: 2, inputs: [0, 1], targets: [1, 2])
        let width = model.stateLayout.width
        XCTAssertEqual(width, 2 * 2 * 2, "2 layers × (h + c) × 2")
        let state = Buffer<Double>(count: 2 * width - 1)
        assertRejected(model, batch, "initial state one short", mentions: ["initial state", "\(2 * width)"], initialState: state)
        assertModelError("initial state gradient one short", mentions: ["initial state gradient"]) {
            _ = try model.train(batch, initialStateGradient: Buffer<Double>(count: 2 * width + 1))
        }
    }
}
