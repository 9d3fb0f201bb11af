/// A Double as a user would type it, for range messages ("--temperature must be > 0, got -1"):
/// "-1" for -1.0, "0.5" for 0.5.
func shown(_ value: Double) -> String {
    value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
}
