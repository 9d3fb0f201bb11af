import ModelSpec
import Models
import Kernels
import TestSupport
import XCTest

/// Stream mode: a sequence evaluated in chunks with the final state carried over gives the same
/// summed loss and final state as one chunk. Same Double operations in the same order per
/// step, so agreement is to rounding (1e-12).
final class ChunkingTests: XCTestCase {
    let n = 2

    private func rows(_ x: [Int32], _ range: Range<Int>) -> [Int32] { Array(x[(range.lowerBound * n)..<(range.upperBound * n)]) }

    private func chunk(_ b: Batch, _ range: Range<Int>) -> Batch {
        Batch(steps: range.count, sequences: n, inputs: rows(b.inputs, range), targets: rows(b.targets, range))
    }

    func testSixStepsAsFourThenTwo() throws {
        for cell in CellRegistry.forms {
            let config = makeConfig(cell, layers: 2, vocabulary: 6, embedding: 3, hidden: 3)
            let model = try Model<Double>(config: config, seed: 41)
            var fixture = Fixture(seed: 42)
            let batch = fixture.batch(config, steps: 6, sequences: n)
            let start = Buffer<Double>(doubles: fixture.values(n * model.stateLayout.width))

            let whole = try model.evaluate(batch, initialState: start)
            let wholeState = model.finalState.doubles
            let first = try model.evaluate(chunk(batch, 0..<4), initialState: start)
            let carried = Buffer<Double>(doubles: model.finalState.doubles)
            let second = try model.evaluate(chunk(batch, 4..<6), initialState: carried)

            assertClose(first.loss + second.loss, whole.loss, relative: 1e-12, "\(cell.name) summed loss")
            XCTAssertEqual(first.count + second.count, whole.count, "\(cell.name) count")
            assertClose(model.finalState.doubles, wholeState, absolute: 1e-12, "\(cell.name) final state")
            // The state carried something: starting the second chunk from zero changes its loss.
            let cold = try model.evaluate(chunk(batch, 4..<6))
            XCTAssertGreaterThan(abs(cold.loss - second.loss), 1e-6, "\(cell.name) the carried state must matter")
        }
    }

    /// Streaming passes the model's own `finalState` buffer straight back in, with equal chunk
    /// shapes, so the workspace (and that buffer) is reused while it is read.
    func testPassingFinalStateBufferBackInDirectly() throws {
        for cell in CellRegistry.forms {
            let config = makeConfig(cell, layers: 2, vocabulary: 6, embedding: 3, hidden: 3)
            let model = try Model<Double>(config: config, seed: 43)
            var fixture = Fixture(seed: 44)
            let batch = fixture.batch(config, steps: 6, sequences: n)
            let start = Buffer<Double>(doubles: fixture.values(n * model.stateLayout.width))
            let whole = try model.evaluate(batch, initialState: start)
            let wholeState = model.finalState.doubles

            let first = try model.evaluate(chunk(batch, 0..<3), initialState: start)
            let second = try model.evaluate(chunk(batch, 3..<6), initialState: model.finalState)
            assertClose(first.loss + second.loss, whole.loss, relative: 1e-12, "\(cell.name) summed loss")
            assertClose(model.finalState.doubles, wholeState, absolute: 1e-12, "\(cell.name) final state")
        }
    }
}
