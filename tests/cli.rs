//! The command-line surface: exit codes of usage errors and flag validation.

fn twinform() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
    c.env("NO_COLOR", "1").env_remove("TWIN_API_KEY");
    c
}

#[test]
fn usage_errors_exit_1_not_2_which_means_changes() {
    for args in [
        &["plan", "--bogus"][..],
        &["drift", "--detailed-exitcode-typo"],
        &["no-such-command"],
        &["plan", "-o", "yaml"],
    ] {
        let out = twinform().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
    twinform().arg("--help").assert().code(0);
    twinform().arg("--version").assert().code(0);
}

#[test]
fn duration_flags_are_validated_instead_of_panicking() {
    for bad in ["inf", "1e30", "NaN", "-1", "0", "abc"] {
        let out = twinform()
            .args(["plan", "--local", &format!("--timeout={bad}"), "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "--timeout {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--timeout"), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{bad}: {err}");
    }
}
