//! One test harness for the three emulators: a platform's emulator in
//! process, the binary pointed at it, and helpers to read what it wrote.
#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::Runtime;
use twinform::engine::emulation::{self, FaultConfig, Shared};

/// A platform's emulator in process, and the binary pointed at it.
pub struct Emu<S: Serialize + DeserializeOwned + Send + 'static> {
    rt: Runtime,
    emulator: Option<emulation::Emulator<S>>,
    shared: Arc<Shared<S>>,
    env: Vec<(&'static str, String)>,
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Emu<S> {
    /// `prefix`: the provider's variables (`TWIN` for `TWIN_ENDPOINT`, `TWIN_API_KEY`).
    pub fn start<F, Fut>(start: F, store: S, prefix: &'static str) -> Self
    where
        F: FnOnce(&'static str, Option<&'static Path>, FaultConfig, S) -> Fut,
        Fut: Future<Output = std::io::Result<emulation::Emulator<S>>>,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt
            .block_on(start("127.0.0.1:0", None, FaultConfig::default(), store))
            .unwrap();
        let endpoint = format!("http://{}", emulator.addr);
        let key = format!("{}_test_key_0123456789abcdef", prefix.to_lowercase());
        Emu {
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
            env: vec![
                (leak(format!("{prefix}_ENDPOINT")), endpoint),
                (leak(format!("{prefix}_API_KEY")), key),
            ],
        }
    }

    pub fn run(&self, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir).env("NO_COLOR", "1");
        for v in ["TWIN_API_KEY", "TWIG_API_KEY", "CADENYA_API_KEY"] {
            c.env_remove(v);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    pub fn store<T>(&self, f: impl FnOnce(&mut S) -> T) -> T {
        self.shared.with_store(true, f)
    }

    /// Everything a reviewer or a CI log could see of a plan of `dir`:
    /// every format, a saved plan and `show` of it, and an export.
    pub fn every_output(&self, dir: &Path, provider: &str, extra: &[(&str, &str)]) -> String {
        let mut all = String::new();
        for format in ["text", "json", "markdown"] {
            all += &self.run(dir, &["plan", "-v", "-o", format, "."], extra).1;
        }
        all += &self.run(dir, &["drift", "-o", "json", "."], extra).1;
        all += &self
            .run(dir, &["plan", "--out", "saved.json", "."], extra)
            .1;
        all += &std::fs::read_to_string(dir.join("saved.json")).unwrap_or_default();
        for format in ["text", "json", "markdown"] {
            all += &self
                .run(dir, &["show", "-o", format, "saved.json"], extra)
                .1;
        }
        let out = tempfile::tempdir().unwrap();
        let out_arg = out.path().display().to_string();
        all += &self
            .run(
                dir,
                &["export", "--provider", provider, "--out", &out_arg],
                extra,
            )
            .1;
        for f in files(out.path()) {
            all += &std::fs::read_to_string(f).unwrap_or_default();
        }
        all
    }
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Drop for Emu<S> {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

pub fn assert_never(all: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!all.contains(s), "`{s}` leaked:\n{all}");
    }
}
