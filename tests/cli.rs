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

#[test]
fn every_flag_and_argument_has_help_text() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() {
                missing.push(format!("{path} {} (no about)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&twinform::cli::Cli::command(), "twinform", &mut missing);
    assert!(missing.is_empty(), "without help text: {missing:#?}");
}

#[test]
fn verbose_is_offered_only_where_requests_are_made() {
    let out = twinform().args(["validate", "-v", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    for cmd in ["plan", "apply", "drift", "export", "whoami"] {
        let help = twinform().args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--verbose"), "{cmd} has no --verbose");
    }
}

#[test]
fn colour_is_decided_per_stream_and_can_be_forced() {
    // stdout is a pipe here; CLICOLOR_FORCE asks for colour anyway, NO_COLOR wins.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: a\nworkspace: W\nschedul: {}\n",
    )
    .unwrap();
    let out = twinform()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["validate"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
        "no colour when forced"
    );
    let out = twinform()
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .args(["validate"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
        "colour despite NO_COLOR"
    );
}

/// Trust II item 7: every command that reads manifests (it has a `path` or
/// `--manifests`) takes every manifest option (`--var-file`,
/// `--strict-vars`, `--annotations`): `history` once took none, so a tree
/// that needed a var file failed to load silently and nothing was redacted.
#[test]
fn every_command_that_reads_manifests_takes_the_manifest_options() {
    use clap::{Args, CommandFactory};
    let options = twinform::cli::ManifestArgs::augment_args(clap::Command::new("x"));
    let wanted: Vec<&str> = options
        .get_arguments()
        .map(|a| a.get_id().as_str())
        .collect();
    assert!(wanted.contains(&"var_file") && wanted.contains(&"strict_vars"));
    let cli = twinform::cli::Cli::command();
    let mut readers = Vec::new();
    let mut missing = Vec::new();
    for sub in cli.get_subcommands() {
        let ids: Vec<&str> = sub.get_arguments().map(|a| a.get_id().as_str()).collect();
        if !ids.iter().any(|id| ["path", "manifests"].contains(id)) {
            continue;
        }
        readers.push(sub.get_name().to_string());
        for w in &wanted {
            if !ids.contains(w) {
                missing.push(format!("{} lacks {w}", sub.get_name()));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:?}");
    for cmd in [
        "validate", "plan", "drift", "apply", "pull", "history", "rollback",
    ] {
        assert!(readers.contains(&cmd.to_string()), "{cmd}: {readers:?}");
    }
}

/// Attack review F16: a `--local` state file planted as a link is refused
/// at start, not lost silently after every apply.
#[cfg(unix)]
#[test]
fn a_local_state_planted_as_a_link_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "kind: Workspace\nname: Ops\n").unwrap();
    std::fs::create_dir_all(dir.path().join(".twinform")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("state.json"),
        dir.path().join(".twinform/local.json"),
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(dir.path())
        .args(["apply", "--local", "--auto-approve", "."])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!elsewhere.path().join("state.json").exists());
}

/// Review II 14: the small things of the command line.
#[test]
fn the_command_line_says_what_it_accepts() {
    // Subcommands take no -V, and their man pages do not list it.
    let dir = tempfile::tempdir().unwrap();
    twinform()
        .args(["man", "--out", dir.path().to_str().unwrap()])
        .assert()
        .success();
    let plan = std::fs::read_to_string(dir.path().join("twinform-plan.1")).unwrap();
    assert!(!plan.contains("\\-\\-version"), "{plan}");
    let main = std::fs::read_to_string(dir.path().join("twinform.1")).unwrap();
    assert!(main.contains("\\-\\-version"), "the main page keeps it");

    // A misspelt provider gets a suggestion; --help lists them all.
    let out = twinform()
        .args(["emulator", "--provider", "twg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `twig`?"), "{err}");
    for args in [
        &["whoami", "--provider", "cadenia"][..],
        &["export", "--provider", "cadenia", "--out", "x"],
    ] {
        let out = twinform().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("did you mean `cadenya`?"), "{args:?}: {err}");
    }
    let help = twinform().args(["emulator", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for p in twinform::providers::all() {
        assert!(help.contains(p.info().name), "{help}");
    }

    // `validate` names what is valid in words.
    let out = twinform()
        .current_dir("examples")
        .args(["validate", "quickstart"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("The manifests in quickstart are valid: "),
        "{err}"
    );

    // `apply --resume` with nothing unfinished does not ask to run again.
    let journal = dir.path().join("journal.ndjson");
    std::fs::write(
        &journal,
        [
            ("", "", "begin"),
            ("agent[\\\"a\\\"]", "create_agent", "start"),
            ("agent[\\\"a\\\"]", "create_agent", "done"),
            ("", "", "end"),
        ]
        .iter()
        .map(|(a, o, e)| {
            format!("{{\"ts\":\"2026-12-01T00:00:00Z\",\"apply_id\":\"a1\",\"address\":\"{a}\",\"op\":\"{o}\",\"event\":\"{e}\"}}\n")
        })
        .collect::<String>(),
    )
    .unwrap();
    let out = twinform()
        .args(["apply", "--resume", "--journal", journal.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 operation done, 0 unfinished, 0 failed"),
        "{text}"
    );
    assert!(text.contains("nothing to resume"), "{text}");
    assert!(!text.contains("again"), "{text}");
}

/// Review II 14: the emulator's banner says what to set to use it.
#[test]
fn the_emulator_says_which_variables_point_at_it() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("twinform"))
        .args(["emulator", "--provider", "twig", "--listen", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the banner on a thread: a banner that never says it must fail
    // the test, not hang it.
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(err)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = String::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("TWIG_ENDPOINT") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        banner.contains("export TWIG_ENDPOINT=http://127.0.0.1:")
            && banner.contains("TWIG_API_KEY=any-key"),
        "{banner}"
    );
}
