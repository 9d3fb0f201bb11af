@testable import Config
import ErrorAssertions
import Foundation
import ModelSpec
@testable import TextData
import XCTest

/// Stream mode on the tokens 0 ..< T, where a token's value is its position: stream s starts at
/// s·L (L = (T − 1)/S), chunk c of it holds inputs s·L + c·τ + t and targets one further on.
final class StreamBatchesTests: XCTestCase {
    private func tokens(_ count: Int) -> [Int32] { (0..<Int32(count)).map { $0 } }

    /// T = 43, S = 3, τ = 4: L = 14, three full chunks and a last one of 2.
    private func make(count: Int = 43, streams: Int = 3, steps: Int = 4, history: Int = 0,
                      fullChunks: Bool = true) throws -> StreamBatches {
        try StreamBatches(tokens: tokens(count), streams: streams, steps: steps, history: history,
                          source: "positions.txt", fullChunks: fullChunks)
    }

    func testLengthAndChunkCounts() throws {
        let b = try make()
        XCTAssertEqual(b.length, 14)          // ⌊42 / 3⌋
        XCTAssertEqual(b.chunksPerEpoch, 3)   // ⌊14 / 4⌋ full chunks
        XCTAssertEqual(b.chunksToCover, 4)    // ⌈14 / 4⌉
        XCTAssertEqual((0..<4).map(b.chunkLength), [4, 4, 4, 2])
        let exact = try make(count: 49, streams: 3, steps: 4)  // L = 16: chunks fit exactly
        XCTAssertEqual(exact.chunksPerEpoch, 4)
        XCTAssertEqual(exact.chunksToCover, 4)
    }

    func testEveryInputAndTargetOfEveryChunkAndStream() throws {
        let b = try make()
        let S = 3, L = 14, tau = 4
        for chunk in 0..<b.chunksToCover {
            let batch = try b.makeBatch(chunk: chunk, sequences: 0..<S)
            let steps = min(tau, L - chunk * tau)
            XCTAssertEqual(batch.steps, steps)
            XCTAssertEqual(batch.sequences, S)
            XCTAssertNil(batch.history)
            XCTAssertEqual(batch.firstSequence, 0)
            for s in 0..<S {
                for t in 0..<steps {
                    let position = Int32(s * L + chunk * tau + t)
                    XCTAssertEqual(batch.inputs[t * S + s], position, "chunk \(chunk) stream \(s) step \(t)")
                    XCTAssertEqual(batch.targets[t * S + s], position + 1, "chunk \(chunk) stream \(s) step \(t)")
                }
            }
        }
        // Every input position of every stream is visited exactly once over the chunks.
        var seen: [Int32] = []
        for chunk in 0..<b.chunksToCover { seen += try b.makeBatch(chunk: chunk, sequences: 0..<S).inputs }
        XCTAssertEqual(seen.sorted(), tokens(S * L))
    }

    /// A rank or micro-batch owning streams 1..<3 reads what the whole batch has in those columns.
    func testASubrangeOfStreamsReadsThoseStreams() throws {
        let b = try make()
        let whole = try b.makeBatch(chunk: 2, sequences: 0..<3)
        var part = try b.makeBatch(chunk: 0, sequences: 1..<3)
        try b.fill(&part, chunk: 2, sequences: 1..<3)
        XCTAssertEqual(part.firstSequence, 1)
        for t in 0..<4 {
            for i in 0..<2 {
                XCTAssertEqual(part.inputs[t * 2 + i], whole.inputs[t * 3 + i + 1])
                XCTAssertEqual(part.targets[t * 2 + i], whole.targets[t * 3 + i + 1])
            }
        }
        XCTAssertEqual(part.inputs[0], 14 + 8)  // stream 1 (starts at L = 14), chunk 2 (offset 2τ = 8), step 0
    }

    /// The MLP's history: the k − 1 tokens of the same stream before the chunk, oldest first,
    /// −1 where the stream had not begun (never the previous stream's tokens).
    func testHistoryIsThePreviousTokensOfTheSameStream() throws {
        let S = 3, L = 14, tau = 4
        for k1 in [3, 6] {  // k − 1 shorter and longer than τ
            let b = try make(history: k1)
            for chunk in 0..<b.chunksToCover {
                let batch = try b.makeBatch(chunk: chunk, sequences: 0..<S)
                guard let history = batch.history else { return XCTFail("no history for k − 1 = \(k1)") }
                XCTAssertEqual(history.count, k1 * S)
                for s in 0..<S {
                    for j in 0..<k1 {
                        let offset = chunk * tau - k1 + j  // position in the stream
                        let expected: Int32 = offset >= 0 ? Int32(s * L + offset) : -1
                        XCTAssertEqual(history[j * S + s], expected, "k−1 \(k1) chunk \(chunk) stream \(s) j \(j)")
                    }
                }
            }
        }
        // Spot checks: stream 1 at chunk 0 sees nothing of stream 0; at chunk 1 its last three inputs.
        let b = try make(history: 3)
        XCTAssertEqual(try b.makeBatch(chunk: 0, sequences: 1..<2).history!, [-1, -1, -1])
        XCTAssertEqual(try b.makeBatch(chunk: 1, sequences: 1..<2).history!, [15, 16, 17])
    }

    /// Training needs one full chunk per stream, L = ⌊(T − 1)/S⌋ ≥ τ; with S = 3, τ = 4 that
    /// fails for T = 12 (L = 3). Evaluation needs L ≥ 1; T = 3 gives L = 0.
    func testTooShortCorpusIsAUserErrorNamingTheSource() throws {
        let message = thrownMessage { _ = try self.make(count: 12, streams: 3, steps: 4) }
        XCTAssertTrue(message.contains("positions.txt"), message)
        XCTAssertTrue(message.contains("12"), message)
        XCTAssertTrue(thrownMessage { _ = try self.make(count: 3, streams: 3, steps: 4, fullChunks: false) }
            .contains("positions.txt"))
    }

    /// The shortest texts the rule above allows. Streams share their boundary tokens (the last
    /// target of stream s is the first input of stream s + 1), so S·τ + 1 tokens give every
    /// stream one full chunk, and S + 1 tokens give every stream one input for evaluation.
    func testShortestCorpusWithOneChunkPerStreamIsAccepted() throws {
        let training = try make(count: 3 * 4 + 1, streams: 3, steps: 4)
        XCTAssertEqual(training.length, 4)
        XCTAssertEqual(training.chunksPerEpoch, 1)
        let batch = try training.makeBatch(chunk: 0, sequences: 0..<3)
        XCTAssertEqual(batch.targets.max(), 12, "the last target is the last token")
        let evaluation = try make(count: 3 + 1, streams: 3, steps: 4, fullChunks: false)
        XCTAssertEqual(evaluation.length, 1)
        XCTAssertEqual(evaluation.chunksToCover, 1)
    }

    /// Through BatchSource: stream mode for a config with mode stream; the MLP gets k − 1 of history,
    /// and step c of an epoch reads chunk c, step chunksPerEpoch reads chunk 0 again.
    func testBatchSourceStreamsByStep() throws {
        var config = TrainingConfig()
        config.data.mode = .stream
        config.train.globalBatch = 3
        config.train.seqLen = 4
        config.model.architecture = .windowedMLP
        config.model.layers = 1
        config.model.context = 3
        let source = try BatchSource(config: config, tokens: tokens(43), maskToken: nil, source: "positions.txt")
        XCTAssertTrue(source.carriesState)
        XCTAssertEqual(source.stepsPerEpoch, 3)
        var batch = try source.makeBatch(sequences: 0..<3)
        try source.fill(&batch, step: 4, sequences: 0..<3)  // epoch 1, chunk 1
        XCTAssertEqual(batch.inputs[0], 4)
        // k − 1 = 2 tokens before chunk 1 (positions 2, 3 of each stream), oldest first.
        XCTAssertEqual(batch.history!, [2, 16, 30, 3, 17, 31])
    }
}
