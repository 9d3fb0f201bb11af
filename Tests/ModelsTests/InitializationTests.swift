import Foundation
import Models
import XCTest

/// PyTorch's initialisation, seeded: nn.Embedding N(0, 1), nn.RNN/LSTM/GRU U(±1/√h),
/// nn.Linear U(±1/√fan_in). Statistical checks allow 4 standard errors.
final class InitializationTests: XCTestCase {
    let config = makeConfig(.lstm, layers: 2, vocabulary: 60, embedding: 20, hidden: 16)

    func testSameSeedSameParametersOtherSeedOthers() throws {
        let a = try Model<Double>(config: config, seed: 7), b = try Model<Double>(config: config, seed: 7)
        let c = try Model<Double>(config: config, seed: 8)
        XCTAssertEqual(a.parameters.array, b.parameters.array)
        for t in a.layout.tensors {
            XCTAssertNotEqual(a.tensor(t.name), c.tensor(t.name), "\(t.name) ignores the seed")
        }
        // Float holds the same draws, rounded.
        let f = try Model<Float>(config: config, seed: 7)
        XCTAssertEqual(f.parameters.array, a.parameters.array.map { Float($0) })
    }

    func testEncoderIsStandardNormal() throws {
        let x = try Model<Double>(config: config, seed: 1).tensor("encoder.weight")
        let N = Double(x.count)
        let mean = x.reduce(0, +) / N
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (N - 1)
        XCTAssertEqual(mean, 0, accuracy: 4 / N.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 4 * (2 / N).squareRoot())
        XCTAssertGreaterThan(x.map(abs).max()!, 2.5, "1200 normals reach past 2.5σ; uniform ones would not")
    }

    /// For U(−b, b): E x² = b²/3 and Var x² = 4b⁴/45.
    private func assertUniform(_ x: [Double], bound b: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let N = Double(x.count)
        XCTAssertLessThanOrEqual(x.map(abs).max()!, b, "\(what) exceeds ±\(b)", file: file, line: line)
        XCTAssertGreaterThan(x.map(abs).max()!, 0.95 * b, "\(what) does not reach near ±\(b)", file: file, line: line)
        let meanSquare = x.reduce(0) { $0 + $1 * $1 } / N
        XCTAssertEqual(meanSquare, b * b / 3, accuracy: 4 * (4 / 45.0).squareRoot() * b * b / N.squareRoot(),
                       "\(what) variance", file: file, line: line)
        XCTAssertEqual(x.reduce(0, +) / N, 0, accuracy: 4 * b / (3 * N).squareRoot(), "\(what) mean", file: file, line: line)
    }

    func testRecurrentWeightsAreUniformInOneOverRootH() throws {
        let model = try Model<Double>(config: config, seed: 2)
        let names = model.layout.tensors.map(\.name).filter { $0.hasPrefix("rnn.") }
        XCTAssertEqual(names.count, 8)
        assertUniform(names.flatMap { model.tensor($0) }, bound: 1 / 16.0.squareRoot(), "rnn.*")
        // Each tensor on its own reaches its bound too (none is left at zero or scaled differently).
        for name in names { XCTAssertGreaterThan(model.tensor(name).map(abs).max()!, 0.8 / 4, name) }
    }

    func testDecoderIsUniformInOneOverRootFanIn() throws {
        let model = try Model<Double>(config: config, seed: 3)
        assertUniform(model.tensor("decoder.weight"), bound: 1 / 16.0.squareRoot(), "decoder.weight (fan_in h = 16)")
        let bias = model.tensor("decoder.bias")
        XCTAssertLessThanOrEqual(bias.map(abs).max()!, 0.25, "decoder.bias")
        XCTAssertGreaterThan(bias.map(abs).max()!, 0.2, "decoder.bias reaches near its bound")

        let bi = try Model<Double>(config: makeConfig(.gru, bidirectional: true, vocabulary: 60, embedding: 20, hidden: 8), seed: 3)
        assertUniform(bi.tensor("decoder.weight"), bound: 1 / 16.0.squareRoot(), "bidirectional decoder.weight (fan_in 2h = 16)")
    }

    func testMLPHiddenLayerIsUniformInOneOverRootFanIn() throws {
        let model = try Model<Double>(config: makeMLPConfig(vocabulary: 30, embedding: 5, hidden: 40, context: 5), seed: 4)
        assertUniform(model.tensor("hidden.weight"), bound: 1 / 25.0.squareRoot(), "hidden.weight (fan_in k·E = 25)")
        assertUniform(model.tensor("decoder.weight"), bound: 1 / 40.0.squareRoot(), "decoder.weight (fan_in 40)")
    }
}
