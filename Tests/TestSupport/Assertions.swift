import XCTest

// Shared by the numeric test targets (KernelsTests, ModelsTests).

/// Fails when any |actual[i] − expected[i]| exceeds `allowed(i)`, naming the entry that overshoots
/// its allowance the most and the largest difference overall, so a failure says where to look.
/// NaN never passes: a kernel that yields NaN where the reference does not must fail.
public func assertClose(_ actual: [Double], _ expected: [Double], allowed: (Int) -> Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(message()) counts differ: \(actual.count) vs \(expected.count)", file: file, line: line)
        return
    }
    var worst = -1, worstExcess = 0.0, largest = 0.0, largestAt = -1
    for i in 0..<actual.count {
        let difference = abs(actual[i] - expected[i])
        if largestAt < 0 || difference > largest || difference.isNaN { largest = difference; largestAt = i }
        let limit = allowed(i)
        if !(difference <= limit) {
            let excess = difference.isNaN ? .infinity : difference - limit
            if worst < 0 || excess > worstExcess { worst = i; worstExcess = excess }
        }
    }
    if worst >= 0 {
        XCTFail("\(message()) worst at [\(worst)]: \(actual[worst]) vs expected \(expected[worst]) "
                + "(|Δ| \(abs(actual[worst] - expected[worst])) > allowed \(allowed(worst))); "
                + "largest |Δ| \(largest) at [\(largestAt)] of \(actual.count)", file: file, line: line)
    }
}

/// Allowance `absolute + relative · |expected[i]|`.
public func assertClose(_ actual: [Double], _ expected: [Double], absolute: Double = 0, relative: Double = 0,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual, expected, allowed: { absolute + relative * abs(expected[$0]) }, message(),
                file: file, line: line)
}

public func assertClose(_ actual: Double, _ expected: Double, absolute: Double = 0, relative: Double = 0,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose([actual], [expected], absolute: absolute, relative: relative, message(), file: file, line: line)
}
