import Kernels
import ModelSpec

extension ParameterLayout {
    /// Fills `parameters` as PyTorch's modules initialise themselves: nn.Embedding N(0, 1);
    /// nn.RNN/LSTM/GRU weights and biases U(±1/√h); nn.Linear weight and bias U(±1/√fan_in).
    /// Tensors draw from one SplitMix64(seed) stream in state_dict order.
    public func initialize<T: Scalar>(_ parameters: Buffer<T>, config: ModelConfig, seed: UInt64) {
        precondition(parameters.count == count, "parameter buffer does not match the layout")
        var rng = SplitMix64(seed: seed)
        for t in tensors where t.aliasOf == nil {
            let p = parameters.base + t.offset
            if t.name == "encoder.weight" {
                for i in 0..<t.count { p[i] = T(rng.normal()) }
                continue
            }
            let bound: Double
            if t.name.hasPrefix("rnn.") {
                bound = 1 / Double(config.hidden).squareRoot()
            } else {
                let fanIn = self[t.name.replacingSuffix("bias", with: "weight")].shape[1]
                bound = 1 / Double(fanIn).squareRoot()
            }
            for i in 0..<t.count { p[i] = T(rng.uniform(bound)) }
        }
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String, with other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
