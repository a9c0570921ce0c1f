import Synchronization

/// The current `AppConfig` of a daemon, shared by its threads, replaced whole on reload.
@available(macOS 15.0, *)
public final class AppConfigStore: Sendable {
    public let path: String
    private let state: Mutex<AppConfig>

    /// Loads `path`; fails when the file is missing or invalid.
    public init(path: String) throws(ConfigError) {
        self.path = path
        self.state = Mutex(try AppConfig.load(path: path))
    }

    /// A daemon's apps.json at start-up. Both daemons refuse to start when it is missing or
    /// invalid, with an error that names the file and the flag (`--apps`) that chose it.
    public static func startup(path: String) throws(SettingsError) -> AppConfigStore {
        do {
            return try AppConfigStore(path: path)
        } catch {
            // File-level errors name the file already; a field's error names only its field path.
            let located = error.path == path ? "\(error)" : "\(path): \(error)"
            throw SettingsError(option: "--apps", message: "\(located); give the applications file with --apps FILE or CLICKPATH_APPS (schema: Schemas/apps.schema.json)")
        }
    }

    /// Serves a config that did not come from a file (tests, embedded use).
    public init(config: AppConfig, path: String = "apps.json") {
        self.path = path
        self.state = Mutex(config)
    }

    public var current: AppConfig { state.withLock { $0 } }

    /// Reads the file again. On success the new config replaces the old one and is returned;
    /// on error the old one stays in force and the error says why.
    @discardableResult
    public func reload() throws(ConfigError) -> AppConfig {
        let fresh = try AppConfig.load(path: path)
        state.withLock { $0 = fresh }
        return fresh
    }
}
