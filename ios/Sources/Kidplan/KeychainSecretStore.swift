import Foundation
import Security

/// The core's secrets in the Keychain, readable only on this device and only after the first
/// unlock since boot (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: never in backups, never
/// migrated to another device, available to a notification service extension while locked).
///
/// Pass the same `accessGroup` (a keychain access group shared by the app and its notification
/// service extension) in both processes so the extension can read the session.
public final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service: String
    private let accessGroup: String?

    public init(service: String = "no.kidplan.secrets", accessGroup: String? = nil) {
        self.service = service
        self.accessGroup = accessGroup
    }

    private func query(_ key: String) -> [String: Any] {
        var q: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: key,
            kSecUseDataProtectionKeychain as String: true,
        ]
        if let accessGroup { q[kSecAttrAccessGroup as String] = accessGroup }
        return q
    }

    public func get(key: String) throws -> String? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        switch SecItemCopyMatching(q as CFDictionary, &out) {
        case errSecSuccess:
            guard let data = out as? Data, let s = String(data: data, encoding: .utf8) else {
                throw KidplanError.Storage
            }
            return s
        case errSecItemNotFound:
            return nil
        default:
            throw KidplanError.Storage // never the OSStatus text: it could name the key
        }
    }

    public func set(key: String, value: String) throws {
        let attrs: [String: Any] = [
            kSecValueData as String: Data(value.utf8),
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(query(key) as CFDictionary, attrs as CFDictionary)
        if status == errSecItemNotFound {
            status = SecItemAdd(query(key).merging(attrs) { $1 } as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw KidplanError.Storage }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KidplanError.Storage }
    }
}
