//! Applying a plan: the [`executor`], the [`secrets`] sink, the [`journal`],
//! [`signals`] and the [`report`] of an apply.

pub mod executor;
pub mod journal;
pub mod report;
pub mod secrets;
pub mod signals;

pub use executor::{execute, Context, Finished, Status, Target, NOT_STARTED};

/// Write a file only its owner can read (0600), atomically: temporary file,
/// fsync, rename. Parent folders are created.
pub fn write_private_sync(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}
