import Models

/// The gate blocks of a recurrent layer's tensors, from the order the checkpoint holds them
/// (PyTorch's) to ONNX's.
///
/// PyTorch stacks an LSTM's gates i|f|g|o and a GRU's r|z|n along the first axis of `weight_ih`
/// [G·h × d], `weight_hh` [G·h × h] and the biases [G·h]; ONNX's LSTM takes i|o|f|c and its GRU
/// z|r|h (c and h being PyTorch's g and n, the candidate). The vanilla RNN has one block.
public enum GateOrder {
    /// For each of ONNX's gate blocks in turn, the PyTorch block it is.
    public static func onnxBlocks(for cell: Cell) -> [Int] {
        switch cell {
        case .lstm: [0, 3, 1, 2]  // i, o, f, c ← i, f, g, o
        case .gru: [1, 0, 2]  // z, r, h ← r, z, n
        case .rnn, .mlp: [0]
        }
    }

    /// `values` [G·h × width] row-major with its G blocks of h rows in PyTorch's order, returned
    /// with the blocks in ONNX's order (a bias is width 1).
    public static func reorder(_ values: [Float], cell: Cell, hidden: Int) -> [Float] {
        let blocks = onnxBlocks(for: cell)
        let block = values.count / blocks.count
        precondition(block * blocks.count == values.count && block % hidden == 0, "not \(blocks.count) blocks of \(hidden) rows")
        return blocks.flatMap { values[($0 * block)..<(($0 + 1) * block)] }
    }
}
