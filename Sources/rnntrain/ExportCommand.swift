import ArgumentParser
import Checkpoints
import Files
import Foundation
import ONNXExport

/// `rnntrain export`: a checkpoint's language model as an ONNX file, for ONNX Runtime.
///
/// τ is the checkpoint's train.seq_len unless `--steps-dynamic` makes it symbolic; the batch n
/// is always symbolic. The file is written atomically, so a failed export leaves nothing under
/// its name. Prints one JSON line naming what was written.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model as an ONNX graph (opset \(ONNXModel.opset)).")

    @Option(help: "Checkpoint directory.")
    var checkpoint: String

    @Option(help: "The ONNX file to write.")
    var onnx: String

    @Flag(help: "Let the caller choose the chunk length τ at run time (default: fixed at the checkpoint's train.seq_len).")
    var stepsDynamic = false

    func validate() throws {
        if onnx.isEmpty { throw ValidationError("--onnx is empty; name the file to write") }
    }

    func run() throws {
        // Before any work: an output that is a device, FIFO, link or directory is not replaced.
        try FileIO.requireReplaceable(onnx)
        let ckpt = try Checkpoint.load(checkpoint, precision: .fp32)
        try FiniteWeights.require(ckpt)
        let steps = stepsDynamic ? nil : ckpt.config.train.seqLen
        let bytes = try ONNXModel.encode(ckpt.model, vocabulary: ckpt.vocabulary, steps: steps, source: checkpoint)
        try FileIO.writeAtomically(bytes, to: URL(fileURLWithPath: onnx))
        try StandardOutput.line(JSON.object([
            ("onnx", .string(onnx)), ("opset", .number(ONNXModel.opset)), ("bytes", .number(bytes.count)),
            ("steps", steps.map { .number($0) } ?? .string("dynamic")),
        ]).text(.spaced))
    }
}
