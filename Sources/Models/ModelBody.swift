import Kernels
import ModelSpec

/// What a language model computes between its token lookup and its decoder: the recurrent
/// stack (`RecurrentStack`) or the windowed MLP (`WindowedMLP`). A body owns its activations
/// (taken from the arena) and does its own embedding lookup, because the MLP looks up a window
/// of k tokens per row where the stack looks up one.
protocol ModelBody<T>: AnyObject {
    associatedtype T: Scalar

    /// Where the body's tensors begin in storage: those below are the decoder's.
    var storageStart: Int { get }

    /// Looks up embeddings into `ws.embedded` and runs the body over the chunk, from
    /// `initialState` [n × state width], writing `ws.finalState`. `dropout(site, x, ldx)` applies
    /// a dropout site when dropout is on. Returns what the decoder reads [τ·n × decoderInput]
    /// before the last dropout site.
    func forward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, initialState: Buffer<T>,
                 dropout: ((Int, UnsafePointer<T>, Int) -> Void)?) -> UnsafeMutablePointer<T>

    /// Back-propagates ∂loss/∂(body output), in `dy` [τ·n × decoderInput], down to the embedding
    /// table, adding gradients into `g`; `dx` is the other gradient buffer to alternate with.
    /// Calls `finish(end)` when storage below `end` is final, and `poll` between steps.
    func backward(_ batch: Batch, _ ws: Workspace<T>, parameters p: UnsafePointer<T>, gradients g: UnsafeMutablePointer<T>,
                  dy: Buffer<T>, dx: Buffer<T>, usedDropout: Bool, initialStateGradient: Buffer<T>?,
                  poll: (() -> Void)?, finish: (Int) -> Void)
}
