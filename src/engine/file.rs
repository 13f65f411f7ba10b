//! Writing files: the one way twinform puts bytes on disk (manifests edited
//! by `pull` and `rollback`, exports, saved plans, man pages, the secrets
//! file, the journal, emulator state).
//!
//! Every write is confined and atomic. The target must resolve inside a
//! root (the manifest tree, `--out`, or the folder of a file the user
//! named); folders below the root are created without following a link out
//! of it; the target itself must not be a link. The bytes go to a temporary
//! file with a random name, created exclusively (`O_CREAT|O_EXCL`, so a
//! link planted at that name is never followed) in the target's folder,
//! synced, then renamed over the target: an interrupted write never leaves
//! half a file, and a planted link never redirects one.
//!
//! Content meant for the tree or an export ([`Holds::NoSecrets`]) is refused
//! when it would add a secret the run knows (an API key of any configured
//! platform, an interpolated value, a stored signing secret) to the file,
//! whichever command asked. Files that hold secrets by design ([`Holds::Secrets`]: the
//! secrets file, emulator state) are written owner-only (0600).
//!
//! A folder named [`STATE_DIR`] (twinform's own state: journal, signing
//! secrets, emulator state) gets a `.gitignore` of `*` the first time
//! anything is written into it, so its secrets are never committed.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::engine::redact::Redactor;

/// The folder of twinform's own state (`.twinform/`), never committed.
pub const STATE_DIR: &str = ".twinform";

/// What `.gitignore` in [`STATE_DIR`] holds.
const STATE_GITIGNORE: &str =
    "# twinform's state (journal, signing secrets, emulator state): never commit it.\n*\n";

/// Where a file may be written.
#[derive(Debug, Clone, Copy)]
pub enum Within<'a> {
    /// Inside this folder (the manifest root, `--out`), which exists.
    Root(&'a Path),
    /// A file the user named with a flag (`--out FILE`, `--journal`,
    /// `--secrets-out`, emulator state): a relative path that stays below
    /// the working folder is confined to it (so a `.twinform` planted as a
    /// link out of it is refused); otherwise to the folder the path names,
    /// which is created.
    Named,
}

/// What a file may hold.
#[derive(Debug, Clone, Copy)]
pub enum Holds<'a> {
    /// Text for the tree or an export: refused if it contains a secret
    /// this redactor knows. Permissions of a replaced file are kept; a new
    /// file gets the usual ones (0666 less the umask).
    NoSecrets(&'a Redactor),
    /// The same check, written owner-only (0600): saved plans.
    Private(&'a Redactor),
    /// Secrets on purpose (the secrets file, emulator state): 0600.
    Secrets,
}

/// Why a file was not written (nothing was).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} resolves outside {root}; nothing was written there")]
    Outside { path: PathBuf, root: PathBuf },
    #[error("{0} is a symbolic link; twinform does not write through links")]
    Link(PathBuf),
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    #[error("{0} would hold a secret known to this run (an API key, an interpolated value or a stored signing secret); it was not written")]
    Secret(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        }
    }
}

impl WriteError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
        move |source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether `data` holds a secret `redactor` knows (any form it scrubs).
pub fn holds_secret(data: &[u8], redactor: &Redactor) -> bool {
    redactor.adds_secret("", &String::from_utf8_lossy(data))
}

/// Replace (or create) `path` with `data`, atomically and confined (see
/// the module documentation).
pub fn write(path: &Path, within: Within, data: &[u8], holds: Holds) -> Result<(), WriteError> {
    let (dir, name) = resolve(path, within)?;
    let target = dir.join(&name);
    let kept = match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => return Err(WriteError::Link(target)),
        Ok(m) if !m.is_file() => return Err(WriteError::NotAFile(target)),
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(WriteError::io(&target)(e)),
    };
    if let Holds::NoSecrets(r) | Holds::Private(r) = holds {
        // Only a secret the write would add: a file may hold one on
        // purpose already (the default of an interpolation).
        let old = match kept {
            Some(_) => std::fs::read(&target).map_err(WriteError::io(&target))?,
            None => Vec::new(),
        };
        if r.adds_secret(
            &String::from_utf8_lossy(&old),
            &String::from_utf8_lossy(data),
        ) {
            return Err(WriteError::Secret(target));
        }
    }
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(match holds {
            Holds::Secrets | Holds::Private(_) => std::fs::Permissions::from_mode(0o600),
            Holds::NoSecrets(_) => std::fs::Permissions::from_mode(0o666),
        });
    }
    // Exclusive creation with a random name: a link planted at any name is
    // never opened; the file is removed again if anything below fails.
    let mut tmp = builder.tempfile_in(&dir).map_err(WriteError::io(&target))?;
    if let (Holds::NoSecrets(_), Some(perms)) = (holds, kept) {
        tmp.as_file()
            .set_permissions(perms)
            .map_err(WriteError::io(&target))?;
    }
    tmp.write_all(data).map_err(WriteError::io(&target))?;
    tmp.as_file().sync_all().map_err(WriteError::io(&target))?;
    tmp.persist(&target)
        .map_err(|e| WriteError::io(&target)(e.error))?;
    // The rename is durable once the folder is synced (best effort: not
    // every filesystem syncs folders).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// How [`open`] opens a file that is written in place rather than replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Appended to (the journal): created owner-only if missing.
    Append,
    /// Held for its lock only (beside the secrets file): created owner-only.
    Lock,
}

/// Open a file that is appended to or locked, confined as [`write`] is and
/// never through a link (`O_NOFOLLOW`).
pub fn open(path: &Path, within: Within, how: Open) -> Result<std::fs::File, WriteError> {
    let (dir, name) = resolve(path, within)?;
    let target = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    match how {
        Open::Append => options.append(true),
        Open::Lock => options.write(true).truncate(false),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    match options.open(&target) {
        Ok(f) => Ok(f),
        Err(_) if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(WriteError::Link(target))
        }
        Err(e) => Err(WriteError::io(&target)(e)),
    }
}

/// The root a path is confined to, as an absolute path.
fn root_of(path: &Path, within: Within) -> Result<PathBuf, WriteError> {
    let cwd = std::env::current_dir().map_err(WriteError::io(path))?;
    Ok(match within {
        Within::Root(root) => cwd.join(root),
        Within::Named => {
            let below_cwd = path.is_relative()
                && path
                    .components()
                    .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if below_cwd {
                cwd
            } else {
                let parent = cwd
                    .join(path)
                    .parent()
                    .map(Path::to_path_buf)
                    .ok_or_else(|| WriteError::NotAFile(path.to_path_buf()))?;
                std::fs::create_dir_all(&parent).map_err(WriteError::io(&parent))?;
                parent
            }
        }
    })
}

/// The real folder `path` goes in (created as needed, every step inside
/// the root) and its file name.
fn resolve(path: &Path, within: Within) -> Result<(PathBuf, OsString), WriteError> {
    walk(path, within, true)?.ok_or_else(|| WriteError::NotAFolder(path.to_path_buf()))
}

/// Check, writing nothing, that [`write`] may write `path`: it resolves
/// inside its root, through no link out of it, and is not itself a link.
/// (For commands that write many files: all are checked before any is.)
pub fn check(path: &Path, within: Within) -> Result<(), WriteError> {
    let Some((dir, name)) = walk(path, within, false)? else {
        return Ok(());
    };
    let target = dir.join(name);
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Link(target)),
        Ok(m) if !m.is_file() => Err(WriteError::NotAFile(target)),
        _ => Ok(()),
    }
}

/// The real folder of `path` and its name, each folder on the way inside
/// the root; missing folders are made when `create`, else the walk stops
/// there (`None`: nothing below can be a link yet).
fn walk(
    path: &Path,
    within: Within,
    create: bool,
) -> Result<Option<(PathBuf, OsString)>, WriteError> {
    let root = root_of(path, within)?;
    let real_root = std::fs::canonicalize(&root).map_err(WriteError::io(&root))?;
    let abs = std::env::current_dir()
        .map_err(WriteError::io(path))?
        .join(path);
    let outside = || WriteError::Outside {
        path: path.to_path_buf(),
        root: root.clone(),
    };
    // The path as given (below the root as given, or below the real root
    // when the caller resolved it already).
    let rel = abs
        .strip_prefix(&root)
        .or_else(|_| abs.strip_prefix(&real_root))
        .map_err(|_| outside())?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_os_string()),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    let name = parts.pop().ok_or_else(outside)?;
    let mut dir = real_root.clone();
    for part in parts {
        let next = dir.join(&part);
        match std::fs::symlink_metadata(&next) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::create_dir(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(WriteError::io(&next)(e)),
                }
                // Made by us, or by someone racing us: it must be a real folder.
                match std::fs::symlink_metadata(&next) {
                    Ok(m) if m.is_dir() => dir = next,
                    _ => return Err(WriteError::NotAFolder(next)),
                }
            }
            Err(e) => return Err(WriteError::io(&next)(e)),
            Ok(m) if m.is_dir() => dir = next,
            Ok(m) if m.file_type().is_symlink() => {
                let real = std::fs::canonicalize(&next).map_err(WriteError::io(&next))?;
                if !real.starts_with(&real_root) {
                    return Err(WriteError::Outside {
                        path: next,
                        root: root.clone(),
                    });
                }
                if !real.is_dir() {
                    return Err(WriteError::NotAFolder(next));
                }
                dir = real;
            }
            Ok(_) => return Err(WriteError::NotAFolder(next)),
        }
    }
    if create && dir.file_name() == Some(STATE_DIR.as_ref()) {
        ignore_state_dir(&dir)?;
    }
    Ok(Some((dir, name)))
}

/// Put a `.gitignore` of `*` in a state folder that has none (never
/// replacing one, never through a link).
fn ignore_state_dir(dir: &Path) -> Result<(), WriteError> {
    let path = dir.join(".gitignore");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    match options.open(&path) {
        Ok(mut f) => f
            .write_all(STATE_GITIGNORE.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(WriteError::io(&path)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(WriteError::io(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        (dir, real)
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary_file() {
        let (_d, root) = folder();
        let r = Redactor::new();
        let path = root.join("a/b/m.yaml");
        write(&path, Within::Root(&root), b"one\n", Holds::NoSecrets(&r)).unwrap();
        write(&path, Within::Root(&root), b"two\n", Holds::NoSecrets(&r)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(entries(&root.join("a/b")), ["m.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_never_written_through() {
        let (_d, root) = folder();
        let (_o, outside) = folder();
        let victim = outside.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let r = Redactor::new();
        // The target itself.
        std::os::unix::fs::symlink(&victim, root.join("m.yaml")).unwrap();
        let e = write(
            &root.join("m.yaml"),
            Within::Root(&root),
            b"x",
            Holds::NoSecrets(&r),
        );
        assert!(matches!(e, Err(WriteError::Link(_))), "{e:?}");
        // A folder on the way that leads out of the root.
        std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
        let e = write(
            &root.join("sub/victim"),
            Within::Root(&root),
            b"x",
            Holds::NoSecrets(&r),
        );
        assert!(matches!(e, Err(WriteError::Outside { .. })), "{e:?}");
        // `..` out of the root.
        let e = write(
            &root.join("../x"),
            Within::Root(&root),
            b"x",
            Holds::NoSecrets(&r),
        );
        assert!(matches!(e, Err(WriteError::Outside { .. })), "{e:?}");
        // `check` says the same without writing anything.
        let e = check(&root.join("sub/victim"), Within::Root(&root));
        assert!(matches!(e, Err(WriteError::Outside { .. })), "{e:?}");
        let e = check(&root.join("m.yaml"), Within::Root(&root));
        assert!(matches!(e, Err(WriteError::Link(_))), "{e:?}");
        check(&root.join("new/folder/f"), Within::Root(&root)).unwrap();
        assert!(!root.join("new").exists());
        // Appending and locking do not follow a link either.
        let e = open(&root.join("m.yaml"), Within::Root(&root), Open::Append);
        assert!(matches!(e, Err(WriteError::Link(_))), "{e:?}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // A link that stays inside the root is a folder like any other.
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
        write(
            &root.join("alias/f"),
            Within::Root(&root),
            b"ok",
            Holds::NoSecrets(&r),
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(root.join("real/f")).unwrap(), "ok");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_and_secrets_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, root) = folder();
        let r = Redactor::new();
        let path = root.join("m.yaml");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, Within::Root(&root), b"y", Holds::NoSecrets(&r)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let secrets = root.join("s.json");
        write(&secrets, Within::Root(&root), b"{}", Holds::Secrets).unwrap();
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn text_holding_a_known_secret_is_refused() {
        let (_d, root) = folder();
        let r = Redactor::new();
        r.add("tw_live_key_0123456789");
        let path = root.join("m.yaml");
        let e = write(
            &path,
            Within::Root(&root),
            b"prompt: use tw_live_key_0123456789\n",
            Holds::NoSecrets(&r),
        );
        assert!(matches!(e, Err(WriteError::Secret(_))), "{e:?}");
        assert!(!path.exists());
        write(
            &path,
            Within::Root(&root),
            b"tw_live_key_0123456789",
            Holds::Secrets,
        )
        .unwrap();
        // A file that holds it already (on purpose) may be rewritten, as
        // long as the write adds no other occurrence.
        let twice = b"tw_live_key_0123456789 tw_live_key_0123456789";
        write(
            &path,
            Within::Root(&root),
            b"tw_live_key_0123456789 ok",
            Holds::NoSecrets(&r),
        )
        .unwrap();
        let e = write(&path, Within::Root(&root), twice, Holds::NoSecrets(&r));
        assert!(matches!(e, Err(WriteError::Secret(_))), "{e:?}");
    }

    #[test]
    fn a_state_folder_gets_a_gitignore_once() {
        let (_d, root) = folder();
        let path = root.join(".twinform/secrets.json");
        write(&path, Within::Root(&root), b"{}", Holds::Secrets).unwrap();
        let ignore = root.join(".twinform/.gitignore");
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), STATE_GITIGNORE);
        std::fs::write(&ignore, "mine\n").unwrap();
        open(
            &root.join(".twinform/journal.ndjson"),
            Within::Root(&root),
            Open::Append,
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "mine\n");
    }
}
