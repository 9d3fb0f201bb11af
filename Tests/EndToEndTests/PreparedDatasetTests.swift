import Foundation
import XCTest

/// `rnntrain prepare` and training from the prepared dataset: the same model bit for bit as
/// training from the text (np 1, 2 and 4, deterministic), resume across the two sources, a text
/// prepared once into the run directory and again when it changes, a rank that cannot see that
/// preparation, and one line and status 2 for each kind of damaged dataset.
final class PreparedDatasetTests: MultiRankTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // Our own text with "café", so characters and bytes differ.
        try ownText(characters: 6000).write(to: corpus, atomically: true, encoding: .utf8)
    }

    /// `rnntrain prepare` of the config's corpus into `name`; asserts success.
    @discardableResult
    func prepare(_ config: URL, _ name: String = "dataset", _ settings: [String] = [],
                 file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let out = scratch.appendingPathComponent(name)
        let r = try runTool(ranks: 0, ["prepare", "--config", config.path, "--out", out.path] + settings.flatMap { ["--set", $0] })
        XCTAssertEqual(r.status, 0, "prepare failed:\n\(r.output)", file: file, line: line)
        XCTAssertTrue(r.stdout.contains("prepared \(out.path):"), r.stdout, file: file, line: line)
        return out
    }

    func modelBytes(_ runDir: URL, step: Int) throws -> Data {
        try Data(contentsOf: checkpoint(runDir, step: step).appendingPathComponent("model.safetensors"))
    }

    func testPreparedDatasetTrainsTheSameModelAsTheTextAtOneTwoAndFourRanks() throws {
        for mode in ["stream", "windows"] {
            let settings = ["train.deterministic=true", "data.mode=\(mode)", "model.dropout=0.2"]
            let config = try writeConfig(extra: ["checkpoint": ["every: 30"]])
            let dataset = try prepare(config, "dataset-\(mode)")
            for ranks in [0, 2, 4] {
                let text = try train(ranks: ranks, config: config, runDir: "text-\(mode)-\(ranks)", settings)
                let prepared = try train(ranks: ranks, config: config, runDir: "prepared-\(mode)-\(ranks)",
                                         settings + ["data.path=\(dataset.path)"])
                XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                               "\(mode) at np \(max(ranks, 1)): model.safetensors differs between text and prepared dataset")
            }
        }
    }

    func testWordAndByteDatasetsTrainTheSameModelAsTheText() throws {
        for tokenizer in ["word", "byte"] {
            let config = try writeConfig(extra: ["data": ["tokenizer: \(tokenizer)"], "checkpoint": ["every: 30"]])
            let dataset = try prepare(config, "dataset-\(tokenizer)")
            let text = try train(ranks: 0, config: config, runDir: "text-\(tokenizer)")
            let prepared = try train(ranks: 0, config: config, runDir: "prepared-\(tokenizer)", ["data.path=\(dataset.path)"])
            XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                           "\(tokenizer): model.safetensors differs between text and prepared dataset")
        }
    }

    func testARunStartedFromTextResumesFromThePreparedDatasetAndBack() throws {
        let config = try writeConfig(extra: ["checkpoint": ["every: 10"]])
        let dataset = try prepare(config)
        let whole = try train(ranks: 0, config: config, runDir: "whole", ["train.steps=20"])
        let fromText = try train(ranks: 0, config: config, runDir: "text-then-prepared", ["train.steps=10"])
        try train(ranks: 0, config: config, runDir: "text-then-prepared", ["train.steps=20", "data.path=\(dataset.path)"], resume: true)
        XCTAssertEqual(try modelBytes(whole, step: 20), try modelBytes(fromText, step: 20), "text, then resumed from the dataset")
        let fromPrepared = try train(ranks: 0, config: config, runDir: "prepared-then-text", ["train.steps=10", "data.path=\(dataset.path)"])
        try train(ranks: 0, config: config, runDir: "prepared-then-text", ["train.steps=20"], resume: true)
        XCTAssertEqual(try modelBytes(whole, step: 20), try modelBytes(fromPrepared, step: 20), "dataset, then resumed from the text")
    }

    func inode(_ url: URL) -> UInt {
        var info = stat()
        return lstat(url.path, &info) == 0 ? UInt(info.st_ino) : 0
    }

    /// A text data.path is prepared into RUN/data at the first start, reused by a resume while the
    /// text is unchanged, and prepared again (swapped in whole) when it changes, where the new
    /// tokens meet the resume's data digest check: refused, which swaps the old dataset back, or
    /// continued with --allow-other-data. A text rewritten with the same bytes is prepared again
    /// and resumes.
    func testATextIsPreparedIntoTheRunDirectoryOnceAndAgainWhenItChanges() throws {
        let config = try writeConfig(extra: ["checkpoint": ["every: 10"]])
        let run = scratch.appendingPathComponent("run")
        let data = run.appendingPathComponent("data")
        let tokens = data.appendingPathComponent("train.tokens")
        func resume(_ steps: Int, _ more: [String] = []) throws -> MultiRankResult {
            try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto",
                                   "--set", "train.steps=\(steps)"] + more)
        }
        let first = try resume(10)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.stdout.contains("data: prepared \(corpus.path) into \(data.path): "), first.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data.path).sorted(),
                       ["SHA256SUMS", "source.json", "train.tokens", "validation.tokens", "vocabulary.json"])
        let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: data)
        XCTAssertEqual(check.status, 0, check.stdout)
        let prepared = inode(tokens)

        let reused = try resume(20)
        XCTAssertEqual(reused.status, 0, reused.output)
        XCTAssertFalse(reused.stdout.contains("data: "), reused.stdout)
        XCTAssertEqual(inode(tokens), prepared, "an unchanged text is not prepared again")
        let record = try Data(contentsOf: data.appendingPathComponent("source.json"))

        let text = try String(contentsOf: corpus, encoding: .utf8)
        try (text + "one more line of text.\n").write(to: corpus, atomically: true, encoding: .utf8)
        let changed = try resume(30)
        assertBadInput(Tool.Result(status: changed.status, stdout: changed.stdout, stderr: changed.stderr),
                       mentions: ["trained on other data", "--allow-other-data"], "a resume on a changed text")
        XCTAssertTrue(changed.stdout.contains("changed since \(data.path) was prepared; prepared again"), changed.stdout)
        XCTAssertEqual(inode(tokens), prepared, "the refused resume swapped the old dataset back")
        XCTAssertEqual(try Data(contentsOf: data.appendingPathComponent("source.json")), record)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }, [],
                       "the new dataset and the temporary directories are gone")
        let allowed = try resume(30, ["--allow-other-data"])
        XCTAssertEqual(allowed.status, 0, allowed.output)
        XCTAssertTrue(allowed.stdout.contains("prepared again"), allowed.stdout)
        XCTAssertNotEqual(inode(tokens), prepared)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }, [],
                       "the old dataset is gone")

        try (text + "one more line of text.\n").write(to: corpus, atomically: true, encoding: .utf8)
        let rewritten = try resume(40)
        XCTAssertEqual(rewritten.status, 0, rewritten.output)
        XCTAssertTrue(rewritten.stdout.contains("prepared again"), rewritten.stdout)
    }

    /// A directory of texts is recorded file by file: a file added to it, or one of its files
    /// rewritten, prepares it again.
    func testADirectoryOfTextsIsPreparedAgainWhenOneOfItsFilesChanges() throws {
        let texts = scratch.appendingPathComponent("texts")
        try FileManager.default.createDirectory(at: texts, withIntermediateDirectories: false)
        let text = try String(contentsOf: corpus, encoding: .utf8)
        let half = text.index(text.startIndex, offsetBy: text.count / 2)
        try String(text[..<half]).write(to: texts.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try String(text[half...]).write(to: texts.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        let config = try writeConfig(extra: ["checkpoint": ["every: 10"]])
        let run = scratch.appendingPathComponent("run")
        func resume(_ steps: Int) throws -> MultiRankResult {
            try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto",
                                   "--set", "train.steps=\(steps)", "--set", "data.path=\(texts.path)", "--allow-other-data"])
        }
        let first = try resume(10)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.stdout.contains("data: prepared \(texts.path)"), first.stdout)
        let same = try resume(20)
        XCTAssertEqual(same.status, 0, same.output)
        XCTAssertFalse(same.stdout.contains("data: "), same.stdout)
        try "a third file.\n".write(to: texts.appendingPathComponent("c.txt"), atomically: true, encoding: .utf8)
        let added = try resume(30)
        XCTAssertEqual(added.status, 0, added.output)
        XCTAssertTrue(added.stdout.contains("prepared again"), added.stdout)
        try (String(text[half...]) + "more.\n").write(to: texts.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        let rewritten = try resume(40)
        XCTAssertEqual(rewritten.status, 0, rewritten.output)
        XCTAssertTrue(rewritten.stdout.contains("prepared again"), rewritten.stdout)
    }

    /// Under mpirun a rank whose run directory lacks rank 0's RUN/data (here: another --run-dir,
    /// as a run directory local to rank 0's host looks from elsewhere), or holds another dataset
    /// there, reads the text into its memory with one warning line: the same model, bit for bit,
    /// as when every rank maps the dataset. It writes nothing into its own run directory.
    func testARankThatCannotSeeTheRunsDatasetReadsTheTextAndTrainsTheSameModel() throws {
        let settings = ["train.deterministic=true"]
        let config = try writeConfig()
        let mapped = try train(ranks: 2, config: config, runDir: "mapped", settings)
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        // Another text's dataset where rank 1 looks.
        let other = try write(ownText(characters: 6000, seed: 5), to: scratch.appendingPathComponent("other.txt"))
        try train(ranks: 0, config: config, runDir: "stale", ["data.path=\(other.path)", "train.steps=1"])
        for (name, seen) in [("missing", nil), ("another dataset", scratch.appendingPathComponent("stale/data"))] {
            try? FileManager.default.removeItem(at: elsewhere)
            if let seen {
                try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: false)
                try FileManager.default.copyItem(at: seen, to: elsewhere.appendingPathComponent("data"))
            }
            let before = try? FileManager.default.contentsOfDirectory(atPath: elsewhere.path)
            let run = scratch.appendingPathComponent("split-\(name.replacingOccurrences(of: " ", with: "-"))")
            func app(_ runDir: URL) -> [String] {
                ["-np", "1", Tool.binary.path, "train", "--config", config.path, "--run-dir", runDir.path] + settings.flatMap { ["--set", $0] }
            }
            let job = try start(Self.mpirun, ["-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"] + app(run) + [":"] + app(elsewhere))
            let r = finish(job)
            XCTAssertEqual(r.status, 0, "\(name): \(r.output)")
            let warnings = r.stderr.split(separator: "\n").filter { $0.contains("warning") }
            XCTAssertEqual(warnings.count, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(warnings.first?.contains("rank 1: ") == true && warnings.first?.contains("reading \(corpus.path) into this rank's memory instead") == true,
                          "\(name): \(r.stderr)")
            XCTAssertEqual(try modelBytes(mapped, step: 30), try modelBytes(run, step: 30), "\(name): the model differs")
            XCTAssertEqual(try? FileManager.default.contentsOfDirectory(atPath: elsewhere.path), before, "rank 1 wrote into its run directory")
        }
    }

    /// A start that fails after preparing (here: too few tokens for the batch) leaves the run
    /// directory as it found it; a bad text leaves nothing either.
    func testAFailedStartRemovesTheDatasetItPrepared() throws {
        let config = try writeConfig()
        let run = scratch.appendingPathComponent("run")
        let r = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--set", "train.global_batch=4096"])
        assertBadInput(Tool.Result(status: r.status, stdout: r.stdout, stderr: r.stderr), mentions: ["too few"], "too few tokens")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "the run directory was left")
        try Data([0x61, 0xFF, 0x0A]).write(to: corpus)
        let bad = try runTool(ranks: 2, ["train", "--config", config.path, "--run-dir", run.path])
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.stderr.contains(corpus.path), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "the run directory was left")
    }

    func testEvalGivesTheSameLossOnTheDatasetAsOnItsValidationText() throws {
        let held = try write(ownText(characters: 1500, seed: 11), to: scratch.appendingPathComponent("held.txt"))
        let config = try writeConfig(extra: ["data": ["val_path: \"\(held.path)\""], "checkpoint": ["every: 30"]])
        let dataset = try prepare(config)
        let run = try train(ranks: 0, config: config, runDir: "run")
        let step = checkpoint(run, step: 30).path
        let fromText = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", held.path])
        let fromDataset = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", dataset.path])
        XCTAssertEqual(fromText.status, 0, fromText.stderr)
        XCTAssertEqual(fromDataset.status, 0, fromDataset.stderr)
        XCTAssertTrue(fromText.stdout.contains("\"loss\""), fromText.stdout)
        XCTAssertEqual(fromDataset.stdout, fromText.stdout, "eval on the dataset and on its validation text")

        // A dataset of another text has another vocabulary: its ids mean nothing to this model.
        let other = try write("zzz yyy xxx\n", to: scratch.appendingPathComponent("other.txt"))
        let otherDataset = try prepare(config, "other", ["data.path=\(other.path)", "data.val_path=\(other.path)"])
        let r = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", otherDataset.path])
        assertBadInput(r, mentions: [otherDataset.path, "another vocabulary than the checkpoint's"], "eval on another vocabulary")
    }

    /// A copy of the dataset, damaged by `damage`, must stop training with one line naming
    /// `file` and status 2, and leave the run directory empty.
    func assertRefused(_ what: String, file name: String, mentions: [String] = [], settings: [String] = [],
                       damage: (URL) throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let config = try writeConfig()
        let dataset = try prepare(config, "dataset-\(UUID().uuidString)")
        try damage(dataset)
        let runDir = scratch.appendingPathComponent("run-\(UUID().uuidString)")
        let r = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", runDir.path, "--set", "data.path=\(dataset.path)"]
                            + settings.flatMap { ["--set", $0] })
        assertBadInput(Tool.Result(status: r.status, stdout: r.stdout, stderr: r.stderr),
                       mentions: [dataset.appendingPathComponent(name).path] + mentions, what, file: file, line: line)
        assertNothingWritten(runDir, what, file: file, line: line)
    }

    func edit(_ url: URL, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        change(&bytes)
        try Data(bytes).write(to: url)
    }

    func testATruncatedTokenFileIsRefused() throws {
        try assertRefused("truncated", file: "train.tokens", mentions: ["truncated"]) { dataset in
            try edit(dataset.appendingPathComponent("train.tokens")) { $0.removeLast(5) }
        }
    }

    func testAHeaderCountThatDisagreesWithTheSizeIsRefused() throws {
        try assertRefused("count", file: "validation.tokens", mentions: ["counts"]) { dataset in
            try edit(dataset.appendingPathComponent("validation.tokens")) { $0[16] &+= 1 }
        }
    }

    func testAVocabularyOtherThanTheHeadersIsRefused() throws {
        try assertRefused("vocabulary", file: "train.tokens", mentions: ["another vocabulary"]) { dataset in
            // Still a valid vocabulary of the same size: only the hash tells.
            try edit(dataset.appendingPathComponent("vocabulary.json")) { bytes in
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"a\"", with: "\"@\"")
                bytes = Array(text.utf8)
            }
        }
    }

    /// Ctrl-C during a long preparation, by `prepare` or by `train` preparing a text into
    /// `RUN/data`: it stops within a piece (4 MB), removes its partial files and exits with status
    /// 2 and one line, leaving neither `--out` (or `RUN/data`) nor a temporary directory. 96 MB of
    /// text take about a second to prepare under ASan, most of it after the temporary directory
    /// appears, and the signal comes within a millisecond of it.
    func testCtrlCDuringAPreparationLeavesNothing() throws {
        let config = try writeConfig()
        let text = scratch.appendingPathComponent("large.txt")
        // ownText of a megabyte takes half a minute in this unoptimized test build: repeat a small one.
        let piece = Data(String(repeating: ownText(characters: 4096), count: 256).utf8)
        FileManager.default.createFile(atPath: text.path, contents: nil)
        let handle = try FileHandle(forWritingTo: text)
        for _ in 0..<(96 << 20) / piece.count { handle.write(piece) }
        try handle.close()
        let runDir = scratch.appendingPathComponent("run-large")
        for (name, arguments, temporaryPrefix, parent) in [
            ("prepare", ["prepare", "--config", config.path, "--set", "data.path=\(text.path)",
                         "--out", scratch.appendingPathComponent("large-dataset").path], ".tmp-large-dataset-", scratch!),
            ("train", ["train", "--config", config.path, "--set", "data.path=\(text.path)", "--run-dir", runDir.path],
             ".tmp-.data-next-", runDir),
        ] {
            let job = try start(Tool.binary, arguments, plain: true)
            func temporary() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []).filter { $0.hasPrefix(temporaryPrefix) }
            }
            let deadline = Date().addingTimeInterval(60)
            while temporary().isEmpty && job.isRunning && Date() < deadline { usleep(1000) }
            XCTAssertFalse(temporary().isEmpty, "\(name) never began to write:\n\(job.output.suffix(2000))")
            XCTAssertEqual(kill(job.pid, SIGINT), 0)
            let r = finish(job)
            XCTAssertEqual(r.status, 2, "\(name): \(r.output.suffix(2000))")
            XCTAssertEqual(lines(r.stderr).filter { $0.hasPrefix("rnntrain: ") }.count, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("stopped by signal 2 (Interrupt) before the dataset was complete"), "\(name): \(r.stderr)")
            XCTAssertEqual(temporary(), [], "\(name) left its temporary directory")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("large-dataset").path))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runDir.path)) ?? []
        XCTAssertFalse(left.contains("data") || left.contains(".data-next"), "train left a dataset: \(left)")
        XCTAssertEqual(checkpointNames(runDir), [])
    }

    /// `SHA256SUMS` holds the token files' hashes, which are the corpus digest: read at open.
    func testAMissingOrForeignManifestIsRefused() throws {
        try assertRefused("no manifest", file: "SHA256SUMS", mentions: ["No such file"]) { dataset in
            try FileManager.default.removeItem(at: dataset.appendingPathComponent("SHA256SUMS"))
        }
        try assertRefused("a manifest without the token files", file: "SHA256SUMS", mentions: ["does not list train.tokens"]) { dataset in
            try edit(dataset.appendingPathComponent("SHA256SUMS")) { bytes in
                bytes = Array(String(decoding: bytes, as: UTF8.self).split(separator: "\n")
                    .filter { !$0.hasSuffix("train.tokens") }.map { $0 + "\n" }.joined().utf8)
            }
        }
        try assertRefused("another vocabulary's manifest", file: "SHA256SUMS", mentions: ["lists another vocabulary.json"]) { dataset in
            try edit(dataset.appendingPathComponent("SHA256SUMS")) { bytes in
                bytes = Array(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map {
                    $0.hasSuffix("vocabulary.json") ? String(repeating: "0", count: 64) + "  vocabulary.json\n" : $0 + "\n"
                }.joined().utf8)
            }
        }
    }

    func testAnotherTokenizerThanTheConfigsIsRefused() throws {
        try assertRefused("tokenizer", file: "train.tokens", mentions: ["char tokenizer", "byte"], settings: ["data.tokenizer=byte"]) { _ in }
    }

    /// Ids are checked where a batch reads them, not at open: token 100 of the training stream is
    /// read at step 13 (stream 0's chunk 12), token 5 of the validation stream by the evaluation at
    /// step 10, and by `eval`. Each ends the run with one line naming the file and the index, and
    /// status 2, before a checkpoint (none is due before step 30).
    func testATokenIDBeyondTheVocabularyIsRefusedWhereItIsRead() throws {
        let config = try writeConfig()
        for (name, index) in [("train.tokens", 100), ("validation.tokens", 5)] {
            let dataset = try prepare(config, "dataset-\(name)")
            let tokens = dataset.appendingPathComponent(name)
            try edit(tokens) { $0[128 + index] = 0xF0 }
            let runDir = scratch.appendingPathComponent("run-\(name)")
            for ranks in [0, 2] {
                let r = try runTool(ranks: ranks, ["train", "--config", config.path, "--run-dir", runDir.path, "--resume", "auto",
                                                   "--set", "data.path=\(dataset.path)"])
                XCTAssertEqual(r.status, 2, "np \(max(ranks, 1)), \(name): \(r.output)")
                XCTAssertTrue(r.stderr.contains("\(tokens.path): token \(index) has id 240, not below the vocabulary size"),
                              "np \(max(ranks, 1)): \(r.stderr)")
                XCTAssertTrue(r.stdout.contains("training "), "the refusal comes when the id is read, not at open: \(r.stdout)")
                XCTAssertEqual(checkpointNames(runDir), [], "\(name): no checkpoint was due")
            }
        }
        let held = try write(ownText(characters: 1500, seed: 11), to: scratch.appendingPathComponent("held.txt"))
        let evalConfig = try writeConfig("eval.yaml", extra: ["data": ["val_path: \"\(held.path)\""]])
        let run = try train(ranks: 0, config: evalConfig, runDir: "for-eval")
        let dataset = try prepare(evalConfig, "dataset-eval")
        try edit(dataset.appendingPathComponent("validation.tokens")) { $0[128 + 700] = 0xF0 }
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint(run, step: 30).path, "--data", dataset.path])
        assertBadInput(r, mentions: [dataset.appendingPathComponent("validation.tokens").path, "token 700 has id 240"], "eval of a bad id")
    }

    /// A refusal that needs only the headers comes at open, whatever ids the file holds.
    func testTheHeadersAreCheckedBeforeTheIDs() throws {
        try assertRefused("tokenizer and a bad id", file: "train.tokens", mentions: ["char tokenizer"],
                          settings: ["data.tokenizer=byte"]) { dataset in
            try edit(dataset.appendingPathComponent("train.tokens")) { $0[128 + 100] = 0xF0 }
        }
    }

    func testAHeaderVocabularySizeLargerThanTheVocabularyIsRefused() throws {
        // The ids of validation.tokens are checked against its header's |V|, raised here to 200
        // (still a 1-byte width) so that an id of 150 would pass that check on its own.
        try assertRefused("header vocabulary size", file: "validation.tokens", mentions: ["header says 200 tokens"]) { dataset in
            try edit(dataset.appendingPathComponent("validation.tokens")) { bytes in
                bytes[24] = 200
                bytes[128 + 3] = 150
            }
        }
    }

    func testPrepareRefusesAnExistingOutput() throws {
        let config = try writeConfig()
        let secret = try write("keep me\n", to: scratch.appendingPathComponent("secret.txt"))
        for kind in ["FIFO", "symlink", "directory", "file"] {
            let out = scratch.appendingPathComponent("out-\(kind)")
            switch kind {
            case "FIFO": XCTAssertEqual(mkfifo(out.path, 0o644), 0)
            case "symlink": XCTAssertEqual(symlink(scratch.appendingPathComponent("elsewhere").path, out.path), 0)
            case "directory": try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            default: try FileManager.default.copyItem(at: secret, to: out)
            }
            let r = try Tool.rnntrain(["prepare", "--config", config.path, "--out", out.path])
            assertBadInput(r, mentions: [out.path], "prepare --out at a \(kind)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("elsewhere").path),
                           "prepare followed the link")
        }
        XCTAssertEqual(try String(contentsOf: secret, encoding: .utf8), "keep me\n")
    }

    /// A token file cut while a run has it mapped: the next read past its new end is SIGBUS, which
    /// must be one line naming the file and status 2, not a death by signal; the checkpoints
    /// written before stay valid.
    func testATokenFileTruncatedWhileMappedEndsTheRunWithOneLine() throws {
        try String(repeating: ownText(characters: 6000), count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let config = try writeConfig(extra: ["checkpoint": ["every: 5"]])
        let dataset = try prepare(config)
        let run = scratch.appendingPathComponent("truncated")
        let job = try startTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path,
                                           "--set", "train.steps=1000000", "--set", "data.path=\(dataset.path)"])
        let first = checkpoint(run, step: 5).appendingPathComponent("SHA256SUMS")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: first.path), Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.path), "no checkpoint within 30 s")
        let tokens = dataset.appendingPathComponent("train.tokens")
        XCTAssertEqual(truncate(tokens.path, 4096), 0, String(cString: strerror(errno)))
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 2, "status \(r.status) (a signal shows as its number + 128 or as -1):\n\(r.stderr)")
        let errors = r.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("rnntrain: \(tokens.path): shrank while this run had it mapped"), r.stderr)
        let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"],
                                 directory: checkpoint(run, step: 5))
        XCTAssertEqual(check.status, 0, "the checkpoint written before the cut: \(check.stdout)")
    }

    /// A directory of text files whose boundaries sit next to multi-byte scalars, some without a
    /// final newline, one empty, one hidden: text made mostly of 2-, 3- and 4-byte scalars, so
    /// that the ranks' equal shares of it fall inside scalars and words.
    func writeTextDirectory() throws -> URL {
        let texts = scratch.appendingPathComponent("texts")
        try FileManager.default.createDirectory(at: texts, withIntermediateDirectories: false)
        let pieces = ["\u{1D11E}\u{1D11E}\u{E9}", "\u{2603}x", " ", "\u{E9}\u{1D11E}", "\n", "a\u{2603}\u{2603}", "\t"]
        for (i, length) in [900, 1, 0, 777, 1300].enumerated() {
            let text = (0..<length).map { pieces[($0 * 7 + i * 3 + $0 / 5) % pieces.count] }.joined()
            try write(text + (i == 1 ? "\u{E9}" : ""), to: texts.appendingPathComponent("part-\(i).txt"))
        }
        try write("hidden\n", to: texts.appendingPathComponent(".hidden"))
        return texts
    }

    /// The dataset's files by name.
    func contents(_ dataset: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dataset.path) {
            files[name] = try Data(contentsOf: dataset.appendingPathComponent(name))
        }
        return files
    }

    func testPrepareWritesTheSameBytesAtOneTwoAndFourRanks() throws {
        let texts = try writeTextDirectory()
        for tokenizer in ["char", "word"] {
            let config = try writeConfig("config-\(tokenizer).yaml", dataPath: texts.path,
                                         extra: ["data": ["tokenizer: \(tokenizer)", "val_fraction: 0.3"]])
            var one: [String: Data] = [:]
            for ranks in [0, 2, 4] {
                let out = scratch.appendingPathComponent("dataset-\(tokenizer)-\(ranks)")
                let r = try runTool(ranks: ranks, ["prepare", "--config", config.path, "--out", out.path])
                XCTAssertEqual(r.status, 0, r.output)
                XCTAssertEqual(r.stdout.components(separatedBy: "prepared ").count, 2, "one summary line: \(r.stdout)")
                if ranks > 0 { XCTAssertTrue(r.stdout.contains("ranks: "), "per-rank throughput: \(r.stdout)") }
                let files = try contents(out)
                XCTAssertEqual(files.keys.sorted(), ["SHA256SUMS", "train.tokens", "validation.tokens", "vocabulary.json"])
                if ranks == 0 {
                    one = files
                } else {
                    for (name, bytes) in files { XCTAssertEqual(bytes, one[name], "\(tokenizer): \(name) at np \(ranks) differs from np 1") }
                }
                let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: out)
                XCTAssertEqual(check.status, 0, check.stdout)
            }
        }
        // Training from the directory of text and from its dataset: the same model.
        let config = try writeConfig("config-train.yaml", dataPath: texts.path,
                                     extra: ["data": ["val_fraction: 0.3"], "checkpoint": ["every: 30"]])
        let text = try train(ranks: 0, config: config, runDir: "from-texts")
        let prepared = try train(ranks: 0, config: config, runDir: "from-dataset",
                                 ["data.path=\(scratch.appendingPathComponent("dataset-char-0").path)"])
        XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                       "model.safetensors differs between the directory of text and its dataset")
    }

    func testPrepareRefusesABadListingWithOneLine() throws {
        let texts = try writeTextDirectory()
        let fifo = texts.appendingPathComponent("part-9.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let config = try writeConfig()
        for ranks in [0, 2] {
            for (path, mentions) in [(texts.path, [fifo.path, "FIFO"]), (texts.path + "/*.none", [texts.path + "/*.none", "no file matches"])] {
                let out = scratch.appendingPathComponent("refused-\(ranks)")
                let r = try runTool(ranks: ranks, ["prepare", "--config", config.path, "--out", out.path, "--set", "data.path=\(path)"])
                let what = "prepare of \(path) at np \(max(ranks, 1))"
                if ranks == 0 {
                    assertBadInput(Tool.Result(status: r.status, stdout: r.stdout, stderr: r.stderr), mentions: mentions, what)
                } else {
                    // mpirun adds its own lines about the exit status; the cause is said once.
                    XCTAssertEqual(r.status, 2, what)
                    let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("rnntrain: ") }
                    XCTAssertEqual(lines.count, 1, "\(what): \(r.stderr)")
                    for mention in mentions { XCTAssertTrue(lines.first?.contains(mention) == true, "\(what): \(r.stderr)") }
                }
                XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".tmp") }, [])
    }

    /// On a terminal (a pty from script(1)) a progress line with \r and MB/s; none into a file.
    func testProgressIsShownOnATerminalOnly() throws {
        let config = try writeConfig()
        let out = scratch.appendingPathComponent("progress")
        let command = "\(Tool.binary.path) prepare --config \(config.path) --out \(out.path)"
        let r = try Tool.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("\r\u{1B}[Kprepare: counting ") && r.stdout.contains("MB/s"), r.stdout)
        let plain = try runTool(ranks: 0, ["prepare", "--config", config.path, "--out", out.path + "-plain"])
        XCTAssertEqual(plain.stderr, "")
    }
}
