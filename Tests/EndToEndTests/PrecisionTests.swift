import Foundation
import XCTest

/// `train.precision` as a user meets it: bench names it and measures against both core peaks,
/// a checkpoint resumes, evaluates and samples in either precision. The bf16 products are not
/// checked here: these tests are about which precision is asked for and reported.
final class PrecisionTests: XCTestCase {
    private var dir: URL!
    private var text: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 1500), to: dir.appendingPathComponent("text.txt"))
    }

    /// A 1-step bench of the tiny LSTM with its overrides.
    private func bench(_ overrides: [String], json: Bool = true) throws -> Tool.Result {
        let config = try write(tinyConfig(data: text), to: dir.appendingPathComponent("bench.yaml"))
        return try Tool.rnntrain(["bench", "--config", config.path, "--steps", "1", "--set", "bench.warmup=0"]
                                 + overrides.flatMap { ["--set", $0] } + (json ? ["--json"] : []))
    }

    /// A 6-step checkpoint of the tiny LSTM trained in `precision`.
    private func checkpoint(_ precision: String) throws -> (run: URL, checkpoint: URL) {
        let run = dir.appendingPathComponent("run-\(precision)")
        let config = tinyConfig(data: text, extra: ["train": [("precision", precision)], "log": [("eval_every", "0")]])
        let r = try train(config, in: dir, runDir: run, name: "\(precision).yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        return (run, run.appendingPathComponent("checkpoints/step-00000006"))
    }

    private func evalPrecision(_ checkpoint: URL, _ options: [String] = []) throws -> String? {
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", text.path] + options)
        XCTAssertEqual(r.status, 0, r.stderr)
        return jsonObject(lines(r.stdout).first ?? "")?["precision"] as? String
    }

    func testBenchJSONNamesThePrecisionAndBothPeaks() throws {
        for precision in ["fp32", "bf16"] {
            let r = try bench(["train.precision=\(precision)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let report = try XCTUnwrap(jsonObject(r.stdout), r.stdout)
            XCTAssertEqual(report["precision"] as? String, precision)
            let engine = try XCTUnwrap(report["productEngine"] as? String, "\(report)")
            XCTAssertTrue(["openblas", "onednn", "emulated"].contains(engine), engine)
            let gflops = try XCTUnwrap(number(report["gflopsPerSecond"]))
            let fp32Peak = try XCTUnwrap(number(report["fp32PeakGFLOPs"]), "this CPU has AVX2 or AVX-512")
            XCTAssertGreaterThan(fp32Peak, 0)
            XCTAssertEqual(try XCTUnwrap(number(report["fp32PeakFraction"])), gflops / fp32Peak, accuracy: 1e-9)
            if cpuFlags().contains("avx512_bf16") {
                let bf16Peak = try XCTUnwrap(number(report["bf16PeakGFLOPs"]), "\(report)")
                XCTAssertEqual(try XCTUnwrap(number(report["bf16PeakFraction"])), gflops / bf16Peak, accuracy: 1e-9)
            } else {
                XCTAssertTrue(report["bf16PeakGFLOPs"] is NSNull, "a CPU without bf16 reports a null peak: \(report)")
                XCTAssertTrue(report["bf16PeakFraction"] is NSNull, "\(report)")
            }
            let conversions = try XCTUnwrap(number(report["conversions"]), "\(report)")
            let passes = try XCTUnwrap(number(report["forward"])) + XCTUnwrap(number(report["backward"]))
            XCTAssertTrue(conversions >= 0 && conversions <= passes, "conversions \(conversions) lie within forward and backward (\(passes))")
        }
    }

    func testBenchTextNamesThePrecisionPeaksAndConversions() throws {
        let r = try bench(["train.precision=bf16"], json: false)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("precision bf16, products on "), r.stdout)
        XCTAssertTrue(r.stdout.contains("fp32 FMA "), r.stdout)
        XCTAssertTrue(r.stdout.contains("bf16 dot product "), r.stdout)
        XCTAssertTrue(r.stdout.contains("conversions and packing "), r.stdout)
    }

    func testAnUnknownPrecisionIsOneLine() throws {
        assertBadInput(try bench(["train.precision=fp16"]), mentions: ["train.precision", "fp32, bf16", "fp16"], "bench")
        let config = tinyConfig(data: text, extra: ["train": [("precision", "half")]])
        let run = dir.appendingPathComponent("bad")
        assertBadInput(try train(config, in: dir, runDir: run), mentions: ["train.precision", "fp32, bf16", "half"], "train")
        assertNothingWritten(run, "train")
    }

    func testEvalAndSampleDefaultToTheCheckpointsPrecision() throws {
        let bf16 = try checkpoint("bf16").checkpoint, fp32 = try checkpoint("fp32").checkpoint
        XCTAssertEqual(try evalPrecision(bf16), "bf16")
        XCTAssertEqual(try evalPrecision(fp32), "fp32")
        XCTAssertEqual(try evalPrecision(bf16, ["--precision", "fp32"]), "fp32")
        XCTAssertEqual(try evalPrecision(fp32, ["--precision", "bf16"]), "bf16")
        for precision in ["fp32", "bf16"] {
            let r = try Tool.rnntrain(["sample", "--checkpoint", bf16.path, "--prime", "ab", "--length", "10",
                                       "--precision", precision])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("ab"), r.stdout)
        }
    }

    func testEvalAndSampleRefuseAnUnknownPrecision() throws {
        let ckpt = try checkpoint("fp32").checkpoint
        assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", ckpt.path, "--data", text.path, "--precision", "fp16"]),
                       mentions: ["--precision", "fp16"], "eval")
        assertBadInput(try Tool.rnntrain(["sample", "--checkpoint", ckpt.path, "--precision", "int8"]),
                       mentions: ["--precision", "int8"], "sample")
    }

    func testACheckpointResumesInTheOtherPrecision() throws {
        let (run, _) = try checkpoint("bf16")
        let config = tinyConfig(data: text, extra: ["train": [("precision", "fp32"), ("steps", "8")], "log": [("eval_every", "0")]])
        let r = try train(config, in: dir, runDir: run, name: "fp32-more.yaml", extra: ["--resume", "auto"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(checkpointNames(run).last, "step-00000008")
    }

    /// The flags of the first CPU in /proc/cpuinfo.
    private func cpuFlags() -> Set<String> {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }
}
