//! What a provider can do.

/// The operations a provider supports, as independent flags.
///
/// ESO only knows `ReadOnly`/`WriteOnly`/`ReadWrite`; [`Capabilities::store_capabilities`]
/// derives that from these flags for the `SecretStore` status.
///
/// # Example
///
/// ```
/// use eso_core::provider::Capabilities;
///
/// let caps = Capabilities::READ_ONLY;
/// assert!(caps.get && !caps.push);
/// assert_eq!(caps.store_capabilities(), "ReadOnly");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(clippy::struct_excessive_bools)]
pub struct Capabilities {
    /// Read one value (`get_secret`).
    pub get: bool,
    /// Read a JSON object as a map (`get_secret_map`).
    pub get_map: bool,
    /// List by name regexp or path (`get_all_secrets` with `name`/`path`).
    pub find_by_name: bool,
    /// List by tags (`get_all_secrets` with `tags`).
    pub find_by_tags: bool,
    /// Write (`push_secret`).
    pub push: bool,
    /// Delete (`delete_secret`).
    pub delete: bool,
    /// Read metadata (`MetadataPolicy::Fetch`) and push metadata.
    pub metadata: bool,
    /// Read older versions.
    pub versions: bool,
}

impl Capabilities {
    /// Everything.
    pub const ALL: Self = Self {
        get: true,
        get_map: true,
        find_by_name: true,
        find_by_tags: true,
        push: true,
        delete: true,
        metadata: true,
        versions: true,
    };

    /// Reads only (get, map, find).
    pub const READ_ONLY: Self = Self {
        get: true,
        get_map: true,
        find_by_name: true,
        find_by_tags: true,
        push: false,
        delete: false,
        metadata: false,
        versions: false,
    };

    /// Writes only (push, delete).
    pub const WRITE_ONLY: Self = Self {
        get: false,
        get_map: false,
        find_by_name: false,
        find_by_tags: false,
        push: true,
        delete: true,
        metadata: false,
        versions: false,
    };

    /// True if any read operation is supported.
    pub fn can_read(self) -> bool {
        self.get || self.get_map || self.find_by_name || self.find_by_tags
    }

    /// True if pushing is supported.
    pub fn can_write(self) -> bool {
        self.push
    }

    /// ESO's `status.capabilities` value: `ReadOnly`, `WriteOnly` or `ReadWrite`.
    pub fn store_capabilities(self) -> &'static str {
        match (self.can_read(), self.can_write()) {
            (true, true) => "ReadWrite",
            (false, true) => "WriteOnly",
            _ => "ReadOnly",
        }
    }
}
