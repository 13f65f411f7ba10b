//! Fuzz the manifest loader: any bytes, as a manifest file, must give
//! problems or a model, never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("m.yaml"), data).is_err() {
        return;
    }
    let _ = twinform::manifest::load_with(dir.path(), &|name| (name == "SET").then(|| "value".to_string()));
});
