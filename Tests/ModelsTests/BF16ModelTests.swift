import Kernels
import ModelSpec
import Models
import TestSupport
import XCTest

/// bf16 models of every cell, deep and bidirectional, and the MLP:
/// - the forward loss against ReferenceLanguageModel (Double loops written from the equations)
///   with both operands of every product rounded to bf16 by the test's own `bfloat16`;
/// - the loss and the full gradient of oneDNN's engine against the emulated one (the fp32
///   reference: bf16-rounded weights and activations multiplied in fp32 by OpenBLAS);
/// and both far closer to each other than to the fp32 model, so the rounding is really applied.
final class BF16ModelTests: XCTestCase {
    /// Forms of the configs: every recurrent cell with 2 layers (bidirectional for half of them)
    /// and the MLP, big enough (h 16) for bf16's rounding to show in the loss.
    private var configs: [(String, ModelConfig)] {
        CellRegistry.forms.enumerated().map { i, cell in
            (cell.name, makeConfig(cell, layers: 2, bidirectional: i % 2 == 0, vocabulary: 11, embedding: 8, hidden: 16))
        } + [("mlp", makeMLPConfig(vocabulary: 11, embedding: 8, hidden: 16))]
    }

    private func rounded(_ x: Double) -> Double { Double(bfloat16(Float(x))) }

    /// The bf16 loss against the rounded Double reference: the two differ by fp32 sums of at
    /// most 2·16 + 8 = 40 terms (≤ 40·2⁻²⁴ ≈ 2.4e-6 relative each) and Float's exp/tanh/σ
    /// (≤ 4e-7): 3e-6 relative. (Such a difference can move a later operand across a bf16
    /// rounding boundary, a change of 2⁻⁸ in one operand, which this bound would not allow; at
    /// these sizes it happens in none of the products, and measured the losses agree to 2e-9.)
    /// The fp32 model is 1e-5–6e-5 away: it must be at least 5× further than the bf16 model,
    /// or nothing was rounded.
    func testForwardLossAgainstRoundedDoubleReference() throws {
        for (name, config) in configs {
            for engine in engines {
                let bf16 = try Model<Float>(config: config, seed: 4, precision: .bf16, bf16Engine: engine)
                let fp32 = try Model<Float>(config: config, seed: 4)
                let double = try Model<Double>(config: config, seed: 4)
                for i in 0..<double.parameters.count { double.parameters[i] = Double(bf16.parameters[i]) }
                var fixture = Fixture(seed: 5)
                let batch = fixture.batch(config, steps: 5, sequences: 4, masked: true, history: config.isWindowedMLP)
                let state = fixture.values(4 * bf16.stateLayout.width).map { Double(Float($0)) }
                var reference = ReferenceLanguageModel(double)
                reference.operandRounding = rounded
                let expected = reference.run(batch, initialState: state).loss
                let got = try bf16.evaluate(batch, initialState: Buffer(doubles: state)).loss
                let plain = try fp32.evaluate(batch, initialState: Buffer(doubles: state)).loss
                assertClose(got, expected, relative: 3e-6, "\(name) \(engine) loss")
                XCTAssertGreaterThan(abs(plain - expected), 5 * abs(got - expected),
                                     "\(name) \(engine): fp32 is as close to the bf16 reference as bf16 is")
            }
        }
    }

    /// oneDNN against the emulation, loss and every gradient entry. Both multiply the same bf16
    /// operands exactly and sum in fp32, in different orders: the loss agrees as above, and a
    /// gradient entry, compared on the scale of the largest (small entries are differences of
    /// larger terms), within 1e-5 of it: backward's paths are about twice forward's, through
    /// sums of up to τ·n = 20 rows more (measured: 3e-8 at most). The fp32 gradient, 5e-4–4e-3
    /// away, must be at least 10× further off, so the test can tell bf16 from fp32.
    func testGradientsOfBothEnginesAgree() throws {
        guard BF16.hasFastProducts else { throw XCTSkip("no AVX512_BF16 here: only the emulated engine exists") }
        for (name, config) in configs {
            let fast = try Model<Float>(config: config, seed: 6, precision: .bf16, bf16Engine: .onednn)
            let emulated = try Model<Float>(config: config, seed: 6, precision: .bf16, bf16Engine: .emulated)
            let fp32 = try Model<Float>(config: config, seed: 6)
            var fixture = Fixture(seed: 7)
            let batch = fixture.batch(config, steps: 5, sequences: 4, masked: true, history: config.isWindowedMLP)
            let state = fixture.values(4 * fast.stateLayout.width).map { Double(Float($0)) }
            let losses = try [fast, emulated, fp32].map { try $0.train(batch, initialState: Buffer(doubles: state)).loss }
            assertClose(losses[0], losses[1], relative: 3e-6, "\(name) loss")
            let g = [fast, emulated, fp32].map(\.gradients.doubles)
            let scale = g[1].map(abs).max()!
            XCTAssertGreaterThan(scale, 0, "\(name) has no gradient")
            func distance(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { abs($0 - $1) }.max()! }
            let engines = distance(g[0], g[1]), toFP32 = distance(g[2], g[1])
            XCTAssertLessThanOrEqual(engines, 1e-5 * scale, "\(name) gradients of the two engines")
            XCTAssertGreaterThan(toFP32, 10 * engines, "\(name): fp32's gradient is as close as the other engine's")
        }
    }

    private var engines: [BF16Products.Engine] { BF16.hasFastProducts ? [.onednn, .emulated] : [.emulated] }
}
