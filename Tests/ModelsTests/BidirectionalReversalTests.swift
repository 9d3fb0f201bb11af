import ModelSpec
import Models
import Kernels
import TestSupport
import XCTest

/// The reverse direction of a bidirectional layer is the forward RNN run on the time-reversed
/// sequence: a unidirectional model given the `_reverse` weights, on reversed inputs, must
/// reproduce its per-position losses and its final state. The forward direction is silenced in
/// the decoder (its columns of decoder.weight zeroed) so the losses see only the reverse one.
final class BidirectionalReversalTests: XCTestCase {
    let steps = 4, n = 2, h = 2, V = 5

    func testReverseDirectionIsForwardOnReversedTime() throws {
        for cell in CellRegistry.forms { try check(cell) }
    }

    private func check(_ cell: CellForm) throws {
        let bi = try Model<Double>(config: makeConfig(cell, bidirectional: true, vocabulary: V, hidden: h), seed: 31)
        let uni = try Model<Double>(config: makeConfig(cell, vocabulary: V, hidden: h), seed: 32)
        let forwardOnly = try Model<Double>(config: makeConfig(cell, vocabulary: V, hidden: h), seed: 33)

        // decoder.weight [V × 2h]: columns 0..<h read the forward direction, h..<2h the reverse one.
        var decoder = bi.tensor("decoder.weight")
        let forwardColumns = columns(decoder, rows: V, width: 2 * h, from: 0, count: h)
        let reverseColumns = columns(decoder, rows: V, width: 2 * h, from: h, count: h)
        for v in 0..<V { for j in 0..<h { decoder[v * 2 * h + j] = 0 } }
        bi.setTensor("decoder.weight", decoder)
        for (target, columns) in [(uni, reverseColumns), (forwardOnly, forwardColumns)] {
            target.setTensor("encoder.weight", bi.tensor("encoder.weight"))
            target.setTensor("decoder.weight", columns)
            target.setTensor("decoder.bias", bi.tensor("decoder.bias"))
        }
        for part in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
            uni.setTensor("rnn.\(part)_l0", bi.tensor("rnn.\(part)_l0_reverse"))
            forwardOnly.setTensor("rnn.\(part)_l0", bi.tensor("rnn.\(part)_l0"))
        }

        var fixture = Fixture(seed: 34)
        let batch = fixture.batch(bi.config, steps: steps, sequences: n)
        func reversedRows(_ x: [Int32]) -> [Int32] {
            var out: [Int32] = []
            for t in (0..<steps).reversed() { out += x[(t * n)..<((t + 1) * n)] }
            return out
        }
        let reversed = Batch(steps: steps, sequences: n, inputs: reversedRows(batch.inputs), targets: reversedRows(batch.targets))

        // Bidirectional state row: [forward h (c) | reverse h (c)].
        let per = bi.stateLayout.width / 2
        let state = fixture.values(n * 2 * per)
        let forwardState = columns(state, rows: n, width: 2 * per, from: 0, count: per)
        let reverseState = columns(state, rows: n, width: 2 * per, from: per, count: per)

        // One scored position at a time: the loss of (t, i) alone.
        func positionLoss(_ model: Model<Double>, _ b: Batch, _ s: [Double], t: Int, i: Int) throws -> Double {
            var one = b
            one.mask = (0..<(steps * n)).map { $0 == t * n + i ? 1 : 0 }
            return try model.evaluate(one, initialState: Buffer(doubles: s)).loss
        }
        var got: [Double] = [], expected: [Double] = []
        for t in 0..<steps {
            for i in 0..<n {
                got.append(try positionLoss(bi, batch, state, t: t, i: i))
                expected.append(try positionLoss(uni, reversed, reverseState, t: steps - 1 - t, i: i))
            }
        }
        assertClose(got, expected, relative: 1e-13, "\(cell.name) per-position losses")

        _ = try bi.evaluate(batch, initialState: Buffer(doubles: state))
        let biFinal = bi.finalState.doubles
        _ = try uni.evaluate(reversed, initialState: Buffer(doubles: reverseState))
        assertClose(columns(biFinal, rows: n, width: 2 * per, from: per, count: per), uni.finalState.doubles,
                    absolute: 1e-14, "\(cell.name) reverse direction's final state (its state after t = 0)")
        _ = try forwardOnly.evaluate(batch, initialState: Buffer(doubles: forwardState))
        assertClose(columns(biFinal, rows: n, width: 2 * per, from: 0, count: per), forwardOnly.finalState.doubles,
                    absolute: 1e-14, "\(cell.name) forward direction's final state")
    }

    /// Columns [from, from + count) of a row-major [rows × width] matrix.
    private func columns(_ x: [Double], rows: Int, width: Int, from: Int, count: Int) -> [Double] {
        var out: [Double] = []
        for r in 0..<rows { out += x[(r * width + from)..<(r * width + from + count)] }
        return out
    }
}
