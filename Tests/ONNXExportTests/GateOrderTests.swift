import ModelSpec
import Models
import ONNXExport
import XCTest

/// The gate blocks PyTorch's order holds, moved to ONNX's by the blocks each cell declares:
/// checked on tensors whose every entry names its gate, unit and column, against the orders
/// written out by hand from the two documentations (torch.nn.LSTM: W_ii|W_if|W_ig|W_io;
/// torch.nn.GRU: W_ir|W_iz|W_in; ONNX LSTM: iofc; ONNX GRU: zrh).
final class GateOrderTests: XCTestCase {
    /// The ONNX blocks of the cell `configure` makes.
    private func blocks(_ configure: (inout ModelConfig) -> Void) throws -> [Int] {
        var c = ModelConfig()
        configure(&c)
        return try XCTUnwrap(CellRegistry.kind(for: c).onnx).blocks
    }

    /// A [G·h × width] tensor of the blocks `gates` in turn, entry (gate g, unit u, column j)
    /// being 100·g + 10·u + j.
    private func labelled(_ gates: [Int], hidden: Int, width: Int) -> [Float] {
        var values: [Float] = []
        for g in gates {
            for u in 0..<hidden {
                for j in 0..<width { values.append(Float(100 * g + 10 * u + j)) }
            }
        }
        return values
    }

    func testLSTMGoesFromIFGOToIOFC() throws {
        let i = 0, f = 1, g = 2, o = 3  // PyTorch's blocks
        for width in [1, 3] {
            XCTAssertEqual(GateOrder.reorder(labelled([i, f, g, o], hidden: 2, width: width),
                                             blocks: try blocks { $0.architecture = .recurrent(.lstm) }, hidden: 2),
                           labelled([i, o, f, g], hidden: 2, width: width), "width \(width)")
        }
    }

    func testGRUGoesFromRZNToZRH() throws {
        let r = 0, z = 1, n = 2
        for variant in GRUVariant.allCases {
            for width in [1, 4] {
                XCTAssertEqual(GateOrder.reorder(labelled([r, z, n], hidden: 3, width: width),
                                                 blocks: try blocks { $0.architecture = .recurrent(.gru); $0.gruVariant = variant }, hidden: 3),
                               labelled([z, r, n], hidden: 3, width: width), "\(variant) width \(width)")
            }
        }
    }

    func testTheVanillaRNNKeepsItsOneBlock() throws {
        let values = labelled([0], hidden: 4, width: 2)
        XCTAssertEqual(GateOrder.reorder(values, blocks: try blocks { $0.architecture = .recurrent(.rnn) }, hidden: 4), values)
    }
}
