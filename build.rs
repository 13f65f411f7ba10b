//! Records the git commit for `twinform --version`: from `TWINFORM_COMMIT`
//! when the build has no `.git` (a container build passes it as a build
//! argument), else from git.
fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let given = std::env::var("TWINFORM_COMMIT")
        .ok()
        .map(|c| c.trim().chars().take(12).collect::<String>())
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()));
    let commit = given.or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let full = match commit {
        Some(c) if !c.is_empty() => format!("{version} ({c})"),
        _ => version,
    };
    println!("cargo:rustc-env=TWINFORM_VERSION={full}");
    println!("cargo:rerun-if-env-changed=TWINFORM_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
