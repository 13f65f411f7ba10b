//! Export and pull on Cadenya: an export plans empty, pull writes drifted values back.

use super::*;

#[test]
fn export_round_trips_to_no_changes() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    let out_dir = tempfile::tempdir().unwrap();
    let out = t
        .cmd(dir.path())
        .args(["export", "--provider", "cadenya", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("CADENYA_SECRET_CRM_TOKEN"),
        "{}",
        text(&out)
    );
    let plan = t
        .cmd(&out_dir.path().join("cadenya"))
        .env("CADENYA_SECRET_CRM_TOKEN", "crm-secret-value-0001")
        .env("CADENYA_SECRET_FRONTEND_FORMS_TOKEN", "local-forms-token")
        .env_remove("CRM_TOKEN")
        .args(["plan", "--detailed-exitcode", "."])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn pull_writes_drifted_agent_variation_and_schedule_values_back() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    let before = std::fs::read_to_string(dir.path().join("cadenya.yaml")).unwrap();
    t.store(|s| {
        for (path, items) in s.items.iter_mut() {
            for r in items.iter_mut() {
                let ext = r
                    .pointer("/metadata/externalId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if path.ends_with("/variations") && ext == "concise" {
                    r["spec"]["systemPromptTemplate"] = json!("Answer in one short sentence.");
                }
                if path.ends_with("/variations") && ext == "default" {
                    r["spec"]["modelConfig"]["temperature"] = json!(0.5);
                    r["spec"]["constraints"]["maxToolCalls"] = json!(30);
                }
                if path.ends_with("/schedules") && ext == "nightly" {
                    r["spec"]["firstUserMessage"] = json!("Run the nightly report for every team");
                }
                if path.ends_with("/agents") && ext == "ask" {
                    r["spec"]["description"] = json!("Answers product and billing questions");
                }
            }
        }
    });
    let out = t.run(dir.path(), &["pull", "."]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Pulled 5 drifted values into 1 file."),
        "{}",
        text(&out)
    );
    let after = std::fs::read_to_string(dir.path().join("cadenya.yaml")).unwrap();
    assert_eq!(
        after,
        before
            .replacen(
                "description: Answers product questions",
                "description: Answers product and billing questions",
                1
            )
            .replacen("    temperature: 0.2\n", "    temperature: 0.5\n", 1)
            .replacen("max_tool_calls: 20,", "max_tool_calls: 30,", 1)
            .replacen(
                "prompt: Answer in one sentence.\n",
                "prompt: Answer in one short sentence.\n",
                1
            )
            .replacen(
                "message: Run the nightly report\n",
                "message: Run the nightly report for every team\n",
                1
            )
    );
    assert_eq!(t.plan_code(dir.path()), 0);
}
