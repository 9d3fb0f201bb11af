import Files

extension NGramCounts {
    /// The counts of both texts together: per order, a merge of the two sorted runs that adds the
    /// occurrences of n-grams present in both. Time O(Σ_n (a_n + b_n) · n) token comparisons for
    /// a_n and b_n distinct n-grams of order n on each side; memory: the result, at most the size
    /// of both inputs together (neither input is copied). Throws a UserError when the orders or
    /// vocabularies differ.
    public func merged(with other: NGramCounts) throws -> NGramCounts {
        guard order == other.order, vocabulary == other.vocabulary else {
            throw UserError("cannot merge n-gram counts of order \(order), \(vocabulary.size) tokens with counts of "
                            + "order \(other.order), \(other.vocabulary.size) tokens")
        }
        var result = try NGramCounts(order: order, vocabulary: vocabulary)
        for n in 1...order {
            (result.grams[n - 1], result.occurrences[n - 1]) =
                Self.merge(n, grams[n - 1], occurrences[n - 1], other.grams[n - 1], other.occurrences[n - 1])
        }
        return result
    }

    private static func merge(_ n: Int, _ aRows: [Int32], _ aCounts: [UInt64], _ bRows: [Int32],
                              _ bCounts: [UInt64]) -> ([Int32], [UInt64]) {
        var rows: [Int32] = []
        var counts: [UInt64] = []
        rows.reserveCapacity(aRows.count + bRows.count)
        counts.reserveCapacity(aCounts.count + bCounts.count)
        var i = 0, j = 0
        while i < aCounts.count || j < bCounts.count {
            let order: Int
            if i == aCounts.count { order = 1 } else if j == bCounts.count { order = -1 } else {
                order = compareRows(aRows, i, bRows, j, n)
            }
            if order < 0 {
                rows += aRows[i * n..<(i + 1) * n]
                counts.append(aCounts[i])
                i += 1
            } else if order > 0 {
                rows += bRows[j * n..<(j + 1) * n]
                counts.append(bCounts[j])
                j += 1
            } else {
                rows += aRows[i * n..<(i + 1) * n]
                counts.append(aCounts[i] + bCounts[j])
                i += 1
                j += 1
            }
        }
        return (rows, counts)
    }
}

/// −1, 0 or 1 as row i of `a` is lexicographically before, equal to or after row j of `b`, both
/// `[· × n]`.
func compareRows(_ a: [Int32], _ i: Int, _ b: [Int32], _ j: Int, _ n: Int) -> Int {
    for k in 0..<n where a[i * n + k] != b[j * n + k] {
        return a[i * n + k] < b[j * n + k] ? -1 : 1
    }
    return 0
}
