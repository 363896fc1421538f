import Foundation

/// Placeholder for the Swift shell over the generated bindings (Generated/*.swift).
/// TODO(shell): Keychain-backed secret store ("this device only"), APNs token and push handling.
public enum KidplanShell {
    /// Version of the Rust core this shell is bound to.
    public static func version() -> String { coreVersion() }
}
