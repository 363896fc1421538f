import Foundation

// Conversions the generated bindings call (see `bindings/uniffi-bindgen.toml`): the core's
// `Day` is `DateComponents` (year, month, day of the Gregorian calendar, no time zone) and its
// `Timestamp` is `Date`. They are total: what the core cannot read comes back from the core as
// `KidplanError.InvalidInput` naming the field, never as a crash.

/// A `YYYY-MM-DD` day from the core as date components.
func kidplanDateComponents(wireDay: String) -> DateComponents {
    let parts = wireDay.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
    else { return DateComponents() }
    return DateComponents(calendar: Calendar(identifier: .gregorian), year: y, month: m, day: d)
}

/// Date components as the core's `YYYY-MM-DD` (an incomplete value gives an empty string,
/// which the core refuses as invalid input).
func kidplanWireDay(_ day: DateComponents) -> String {
    guard let y = day.year, let m = day.month, let d = day.day,
          (0...9999).contains(y), (1...12).contains(m), (1...31).contains(d)
    else { return "" }
    return String(format: "%04d-%02d-%02d", y, m, d)
}

/// A date as the core's epoch milliseconds, saturating at the 64-bit range.
func kidplanWireMillis(_ date: Date) -> Int64 {
    let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
    if !ms.isFinite { return ms < 0 ? Int64.min : Int64.max }
    if ms <= Double(Int64.min) { return Int64.min }
    if ms >= Double(Int64.max) { return Int64.max }
    return Int64(ms)
}
