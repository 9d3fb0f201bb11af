import ErrorAssertions
import Foundation
import Kernels
import ModelSpec
import Models
@testable import TextData
import Training
import XCTest

/// Sampling from an untrained tiny model: determinism by seed, the low-temperature and top-1
/// limits against a greedy decoder written here, and the refusal of bidirectional models.
final class SamplerTests: XCTestCase {
    private func vocabulary(withMask: Bool = false) throws -> Vocabulary {
        try Vocabulary.build(kind: .char, text: Array("abcdefgh ij.\n".utf8), source: "sampler.txt", minCount: 1,
                             withMask: withMask)
    }

    private func model(_ vocabulary: Vocabulary, architecture: Architecture = .recurrent(.lstm), bidirectional: Bool = false) throws -> Model<Float> {
        var c = ModelConfig()
        c.architecture = architecture
        c.layers = 1
        c.hidden = 8
        c.embedding = 6
        c.context = 3
        c.bidirectional = bidirectional
        c.vocabulary = vocabulary.count
        let m = try Model<Float>(config: c, seed: 3)
        // Spread the logits (untrained ones are within ~0.3 of each other), so the argmax is
        // clear of ties at every step; see the margin check in `greedy`.
        let decoder = m.layout["decoder.weight"]
        for i in decoder.range { m.parameters[i] *= 8 }
        return m
    }

    private func sample(_ sampler: Sampler, prime: [Int32], length: Int, temperature: Double, topK: Int,
                        seed: UInt64) throws -> String {
        var text = ""
        try sampler.generate(prime: prime, length: length, temperature: temperature, topK: topK, seed: seed) { text += $0 }
        return text
    }

    /// "Temperature → 0+".
    private let coldTemperature = 1e-5

    /// Greedy decoding: feed the prime from a zero state, then each argmax token; the MLP reads
    /// its k − 1 previous tokens (−1 before the start) as history. Asserts the top two logits
    /// differ by more than 40 × coldTemperature at every step, so at that temperature the
    /// runner-up weighs at most e^-40 ≈ 4e-18 of the argmax: sampling must pick the argmax.
    private func greedy(_ model: Model<Float>, _ vocabulary: Vocabulary, prime: [Int32], length: Int,
                        file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let V = vocabulary.count, k1 = model.config.isWindowedMLP ? model.config.context - 1 : 0
        let state = Buffer<Float>(count: model.stateLayout.width)
        var seen: [Int32] = []
        var input = prime, out: [Int32] = []
        for _ in 0..<length {
            var batch = Batch(steps: input.count, sequences: 1, inputs: input,
                              targets: [Int32](repeating: -1, count: input.count))
            if k1 > 0 {
                let padded = [Int32](repeating: -1, count: k1) + seen
                batch.history = Array(padded.suffix(k1))
            }
            _ = try model.evaluate(batch, initialState: state)
            state.copy(from: model.finalState)
            seen += input
            let row = (input.count - 1) * V
            let logits = (0..<V).map { model.logits[row + $0] }
            let order = logits.indices.sorted { logits[$0] > logits[$1] }
            XCTAssertGreaterThan(Double(logits[order[0]] - logits[order[1]]), 40 * coldTemperature, "near tie: the fixture needs another seed",
                                 file: file, line: line)
            out.append(Int32(order[0]))
            input = [Int32(order[0])]
        }
        return vocabulary.decode(out)
    }

    func testSameSeedSameTextOtherSeedOtherText() throws {
        let v = try vocabulary(), sampler = try Sampler(model: try model(v), vocabulary: v)
        let a = try sample(sampler, prime: [0, 1], length: 40, temperature: 1, topK: 0, seed: 1)
        let b = try sample(sampler, prime: [0, 1], length: 40, temperature: 1, topK: 0, seed: 1)
        let c = try sample(sampler, prime: [0, 1], length: 40, temperature: 1, topK: 0, seed: 2)
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testLowTemperatureIsGreedy() throws {
        let v = try vocabulary()
        for architecture in [Architecture.recurrent(.lstm), .recurrent(.gru), .windowedMLP] {
            let m = try model(v, architecture: architecture), sampler = try Sampler(model: m, vocabulary: v)
            let prime: [Int32] = [2, 5, 0]
            let expected = try greedy(m, v, prime: prime, length: 30)
            for seed: UInt64 in [1, 2, 3] {
                XCTAssertEqual(try sample(sampler, prime: prime, length: 30, temperature: coldTemperature, topK: 0, seed: seed),
                               expected, "\(architecture) seed \(seed)")
            }
            // At temperature 1 the same model does not follow the argmax (so the check can fail).
            XCTAssertNotEqual(try sample(sampler, prime: prime, length: 30, temperature: 1, topK: 0, seed: 1), expected,
                              "\(architecture)")
        }
    }

    func testTopKOneIsGreedy() throws {
        let v = try vocabulary()
        let m = try model(v), sampler = try Sampler(model: m, vocabulary: v)
        let expected = try greedy(m, v, prime: [4], length: 30)
        for seed: UInt64 in [7, 8] {
            XCTAssertEqual(try sample(sampler, prime: [4], length: 30, temperature: 1.5, topK: 1, seed: seed), expected)
        }
    }

    func testNeverDrawsTheMaskToken() throws {
        let v = try vocabulary(withMask: true)
        let m = try model(v)
        // Make the mask token the most likely output by far.
        m.parameters[m.layout["decoder.bias"].offset + Int(v.maskToken!)] = 50
        let text = try sample(try Sampler(model: m, vocabulary: v), prime: [0], length: 50, temperature: 1, topK: 0, seed: 4)
        XCTAssertFalse(text.contains("<mask>"), text)
        XCTAssertEqual(text.count, 50)
    }

    func testBidirectionalModelIsRefused() throws {
        let v = try vocabulary(withMask: true)
        let message = thrownMessage { _ = try Sampler(model: try self.model(v, bidirectional: true), vocabulary: v) }
        XCTAssertTrue(message.contains("bidirectional"), message)
    }
}
