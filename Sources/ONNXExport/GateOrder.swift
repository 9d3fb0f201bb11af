import Models

/// The gate blocks of a recurrent layer's tensors, from the order the checkpoint holds them
/// (the cell's, PyTorch's where it has the cell) to the ONNX operator's.
///
/// PyTorch stacks an LSTM's gates i|f|g|o and a GRU's r|z|n along the first axis of `weight_ih`
/// [G·h × d], `weight_hh` [G·h × h] and the biases [G·h]; ONNX's LSTM takes i|o|f|c and its GRU
/// z|r|h (c and h being PyTorch's g and n, the candidate). Each cell states the map as
/// `ONNXOperator.blocks`.
public enum GateOrder {
    /// `values` [G·h × width] row-major with its G blocks of h rows in the cell's order, returned
    /// with the blocks in the operator's order, `blocks` (a bias is width 1).
    public static func reorder(_ values: [Float], blocks: [Int], hidden: Int) -> [Float] {
        let block = values.count / blocks.count
        precondition(block * blocks.count == values.count && block % hidden == 0, "not \(blocks.count) blocks of \(hidden) rows")
        return blocks.flatMap { values[($0 * block)..<(($0 + 1) * block)] }
    }
}
