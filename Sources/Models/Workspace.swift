import Kernels
import ModelSpec

/// Every activation of one forward/backward pass, allocated once for a chunk shape (τ, n) from
/// `ActivationPlan`'s size table: the buffers around the body here, the body's in the body.
final class Workspace<T: Scalar> {
    let steps: Int
    let sequences: Int
    var rows: Int { steps * sequences }

    /// The recurrent stack or the windowed MLP, with its own activations.
    let body: any ModelBody<T>
    /// Embedding output [τ·n × E] (for the MLP [τ·n × k·E], k embeddings per row).
    let embedded: Buffer<T>
    /// Dropout sites 0 ... L when dropout is on, else empty.
    let dropout: [DropoutSite<T>]
    let rowKeys: Buffer<UInt64>
    /// Decoder output, then ∂loss/∂logits [τ·n × V].
    let logits: Buffer<T>
    /// Two buffers of ∂loss/∂activations [τ·n × max width] that backward alternates between.
    let gradientA: Buffer<T>, gradientB: Buffer<T>
    /// Final state of the last forward [n × state width].
    let finalState: Buffer<T>
    /// Every buffer's bytes, as `MemoryEstimate` counts them.
    let bytes: Int

    init(config: ModelConfig, layout: ParameterLayout, steps: Int, sequences: Int, products: Products<T>) {
        self.steps = steps
        self.sequences = sequences
        let arena = Arena<T>(ActivationPlan.entries(config: config, steps: steps, sequences: sequences, precision: products.precision))
        bytes = arena.bytes
        embedded = arena.take("embedded")
        rowKeys = arena.take("rowKeys")
        logits = arena.take("logits")
        dropout = config.dropout > 0 ? (0...config.layers).map { site in
            DropoutSite(site: site, width: site == 0 ? config.embeddedWidth : config.decoderInput,
                        output: arena.take("dropout\(site).output"), mask: arena.take("dropout\(site).mask"))
        } : []
        gradientA = arena.take("gradientA")
        gradientB = arena.take("gradientB")
        finalState = arena.take("finalState")
        if config.isWindowedMLP {
            body = WindowedMLP(config: config, layout: layout, arena: arena, products: products)
        } else {
            body = RecurrentStack(config: config, layout: layout, steps: steps, sequences: sequences, arena: arena,
                                  products: products)
        }
        precondition(arena.untaken.isEmpty, "planned but unused activations: \(arena.untaken)")
    }
}
