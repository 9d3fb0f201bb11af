import Foundation
import Models
import Kernels
import TestSupport
import XCTest

/// Every case of the gradient-check matrix passes, and the checker itself can tell a wrong
/// gradient from a right one.
final class GradientCheckMatrix: XCTestCase {
    func testEveryCaseOfTheMatrixPasses() throws {
        let cases = GradientCheck.matrix()
        XCTAssertGreaterThanOrEqual(cases.count, 45, "five cells × {1, 2} layers × {uni, bi} × {plain, masked}, the mlp, tied")
        for form in CellRegistry.forms {
            XCTAssertGreaterThanOrEqual(cases.filter { $0.name.hasPrefix(form.name + " ") }.count, 8, "\(form.name) must be in the matrix")
        }
        // The cases are independent models: run them on both cores.
        var reports = [Result<GradientCheck.Report, Error>?](repeating: nil, count: cases.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            let r = Result { try GradientCheck.run(cases[i]) }
            lock.lock(); reports[i] = r; lock.unlock()
        }
        for (c, report) in zip(cases, reports) {
            switch report! {
            case .failure(let error):
                XCTFail("\(c.name) threw \(error)")
            case .success(let r):
                XCTAssertLessThanOrEqual(r.maxRelativeError, GradientCheck.tolerance,
                                         "\(c.name): max relative error \(r.maxRelativeError), worst \(r.worst)")
                XCTAssertGreaterThan(r.entries, 0, "\(c.name) compared nothing")
            }
        }
    }

    /// One sequence: every per-step product is a single row, which `gemm` hands to GEMV.
    func testOneSequencePasses() throws {
        for c in GradientCheck.cases(cells: CellRegistry.forms.map(\.name), layers: [2], bidirectional: [true]) {
            let r = try GradientCheck.run(c, sequences: 1)
            XCTAssertLessThanOrEqual(r.maxRelativeError, GradientCheck.tolerance,
                                     "\(c.name), one sequence: max relative error \(r.maxRelativeError), worst \(r.worst)")
            XCTAssertGreaterThan(r.entries, 0, "\(c.name) compared nothing")
        }
    }

    /// The stencil on sin at x = 0.7 against cos: its O(ε⁴) truncation with ε = 1e-3 is ~1e-13.
    func testDerivativeMatchesClosedForm() throws {
        let x = Buffer<Double>([0.3, 0.7, -1.1])
        for i in 0..<3 {
            let at = x[i]
            let numeric = try GradientCheck.derivative(of: { sin(x[i]) }, at: x, index: i)
            assertClose(numeric, cos(at), relative: 1e-11, "d sin/dx at \(at)")
            XCTAssertEqual(x[i], at, "the checked entry must be restored")
        }
        // And of a function of several entries, with respect to one of them only.
        let numeric = try GradientCheck.derivative(of: { x[0] * x[1] * x[1] + exp(x[2]) }, at: x, index: 1)
        assertClose(numeric, 2 * x[0] * x[1], relative: 1e-11, "∂(x0·x1² + e^x2)/∂x1")
    }

    func testRelativeErrorFlagsAPerturbedGradient() {
        for g in [0.37, -12.5, 3e-3] {
            XCTAssertGreaterThan(GradientCheck.relativeError(g * (1 + 1e-4), g), GradientCheck.tolerance,
                                 "a 1e-4 relative error in \(g) must fail the check")
            XCTAssertLessThanOrEqual(GradientCheck.relativeError(g * (1 + 1e-9), g), GradientCheck.tolerance,
                                     "a 1e-9 relative error in \(g) must pass")
        }
    }
}
