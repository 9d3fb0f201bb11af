/// Finite x rounded to bfloat16 (the high 16 bits of a Float), to nearest with ties to even:
/// add 0x7FFF plus the lowest kept bit, then drop the low 16 bits. The tests' own rounding,
/// written from the definition, for references that must not call the code under test.
public func bfloat16(_ x: Float) -> Float {
    let bits = x.bitPattern
    let lowestKept = (bits >> 16) & 1
    return Float(bitPattern: (bits &+ 0x7FFF &+ lowestKept) & 0xFFFF_0000)
}
