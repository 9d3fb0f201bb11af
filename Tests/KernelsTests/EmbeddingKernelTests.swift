import Kernels
import TestSupport
import XCTest

/// Row lookup and its scatter-add backward.
final class EmbeddingKernelTests: XCTestCase {
    let V = 4, E = 3
    /// Token 2 repeats (its gradient rows must add up); −1 and −5 are "no token".
    let tokens: [Int32] = [2, -1, 0, 2, 3, -5, 2]

    func testForwardLooksUpRowsAndZeroesNegativeTokens() {
        forward(Float.self)
        forward(Double.self)
    }

    func testBackwardAccumulatesRepeatedTokensAndSkipsNegativeOnes() {
        backward(Float.self)
        backward(Double.self)
    }

    private func forward<T: Scalar>(_: T.Type) {
        var random = TestRandom(seed: 51)
        let table = random.floatExact(V * E), ld = E + 2, sentinel = 9.0
        let out = Buffer<T>(doubles: [Double](repeating: sentinel, count: tokens.count * ld))
        let tableBuffer = Buffer<T>(doubles: table)
        withExtendedLifetime((tableBuffer, out)) {
            tokens.withUnsafeBufferPointer {
                T.embeddingForward(rows: tokens.count, width: E, table: tableBuffer.base,
                                   tokens: $0.baseAddress!, out: out.base, ldout: ld)
            }
        }
        var expected = [Double](repeating: sentinel, count: tokens.count * ld)
        for (r, token) in tokens.enumerated() {
            for j in 0..<E { expected[r * ld + j] = token < 0 ? 0 : table[Int(token) * E + j] }
        }
        assertClose(out.doubles, expected, "\(T.self) rows, zero rows, untouched padding")
    }

    private func backward<T: Scalar>(_: T.Type) {
        var random = TestRandom(seed: 52)
        let start = random.floatExact(V * E), ld = E + 1
        let dout = random.floatExact(tokens.count * ld)
        let dtable = Buffer<T>(doubles: start)
        let doutBuffer = Buffer<T>(doubles: dout)
        withExtendedLifetime((doutBuffer, dtable)) {
            tokens.withUnsafeBufferPointer {
                T.embeddingBackward(rows: tokens.count, width: E, dtable: dtable.base, tokens: $0.baseAddress!,
                                    dout: doutBuffer.base, lddout: ld)
            }
        }
        var expected = start
        for (r, token) in tokens.enumerated() where token >= 0 {
            for j in 0..<E { expected[Int(token) * E + j] += dout[r * ld + j] }
        }
        // Three Float additions into O(1) values: within 3 · 2^-24 · 4.
        assertClose(dtable.doubles, expected, absolute: T.self == Float.self ? 1e-6 : 1e-15, "\(T.self) dtable")
        XCTAssertEqual(dtable.doubles[1 * E], start[1 * E], "token 1 never occurs: its row is unchanged")
    }
}
