//! Plans and policies: the changes policies read, and prompt token counts in every format and for every provider's model names.

use super::*;

#[test]
fn plans_give_policies_their_changes_as_conftest_reads_them() {
    let twin = twin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &[
            ("m.yaml", &TWIN_HTTP_WEBHOOK.replace("http://", "https://")),
            (
                "policy/p.rego",
                "package main\n\nwarn contains {\"msg\": sprintf(\"%s is new\", [c.address]), \"address\": c.address} if {\n\tsome c in input.changes\n\tc.action == \"create\"\n\tc.resource in {\"agent\", \"instructions\", \"workspace\"}\n}\n\ndeny contains \"validate sees no changes\" if {\n\tinput.command == \"validate\"\n\tcount(input.changes) > 0\n}\n",
            ),
        ],
    );
    let v = twin.run(d, &["validate", "--policy", "policy", "m.yaml"]);
    assert_eq!(v.code, 0, "{}", v.err);
    assert!(!v.err.contains("is new"), "{}", v.err);
    let plan = twin.run(d, &["plan", "--policy", "policy", "-o", "json", "m.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.err);
    // A change's address finds its resource (a change inside it too): the
    // warning points at it.
    assert_eq!(
        plan.json()["warnings"],
        serde_json::json!([
            "m.yaml:1:1: workspace[\"Ops\"] is new (policy main.warn (policy/p.rego:3))",
            "m.yaml:4:1: agent[\"digest\"] is new (policy main.warn (policy/p.rego:3))",
            "m.yaml:4:1: agent[\"digest\"].instructions is new (policy main.warn (policy/p.rego:3))",
        ])
    );
}

#[test]
fn plans_count_prompt_tokens_in_every_format() {
    let twig = twig();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = "kind: TwigAgent\nname: Reports\nsystem_prompt: {file: reports.md}\nmodel: gpt-4o\ndata_sources: []\n";
    write(
        d,
        &[
            ("twig.yaml", tree),
            ("reports.md", "Summarize the reports.\n"),
        ],
    );
    let plan = twig.run(d, &["plan", "-o", "json", "."]);
    assert_eq!(plan.code, 0, "{}", plan.err);
    let doc = plan.json();
    let tokens = &doc["changes"][0]["tokens"];
    assert_eq!(tokens["after"], 6, "{doc:#}");
    assert_eq!(tokens["approximate"], false, "gpt-4o uses o200k_base");
    assert!(tokens.get("before").is_none());
    assert_eq!(twig.run(d, &["apply", "--auto-approve", "."]).code, 0);

    write(
        d,
        &[(
            "reports.md",
            "Summarize the reports in five bullet points, most urgent first.\n",
        )],
    );
    let text = twig.run(d, &["plan", "."]);
    assert!(text.out.contains("6 -> 14 tokens (+8)\n"), "{}", text.out);
    let json = twig.run(d, &["plan", "-o", "json", "."]).json();
    assert_eq!(
        json["changes"][0]["tokens"],
        serde_json::json!({"before": 6, "after": 14, "delta": 8, "encoding": "o200k_base", "approximate": false})
    );
    let md = twig.run(d, &["plan", "-o", "markdown", "."]);
    assert!(md.out.contains("6 -&gt; 14 tokens (+8)"), "{}", md.out);

    // Another family's model: the same count, said to be approximate.
    write(d, &[("twig.yaml", &tree.replace("gpt-4o", "gpt-4"))]);
    let text = twig.run(d, &["plan", "."]);
    assert!(
        text.out
            .contains("6 -> 14 tokens (+8), approximate (o200k_base)"),
        "{}",
        text.out
    );
}

/// Cadenya's prompts live in variations: their token counts are in the
/// plan (create and update), exact for a model of the o200k family named
/// as Cadenya names models (`<AI provider key>.<model>`).
#[test]
fn cadenya_variation_prompts_are_counted_for_their_model() {
    let cadenya = cadenya();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = "kind: CadenyaWorkspace\nid: ops\nname: Ops\n---\nkind: CadenyaAgent\nworkspace: ops\nid: reports\nname: Reports\nvariations:\n  default:\n    prompt: {file: reports.md}\n    model: getting-started-key.openai-gpt-5\n";
    write(
        d,
        &[("m.yaml", tree), ("reports.md", "Summarize the reports.\n")],
    );
    let plan = cadenya.run(d, &["plan", "-o", "json", "."]);
    assert_eq!(plan.code, 0, "{}", plan.err);
    let doc = plan.json();
    let variation = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "variation")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(
        variation["tokens"],
        serde_json::json!({"after": 6, "encoding": "o200k_base", "approximate": false}),
        "{doc:#}"
    );
    let apply = cadenya.run(d, &["apply", "--auto-approve", "."]);
    assert_eq!(apply.code, 0, "{}", apply.err);
    write(
        d,
        &[(
            "reports.md",
            "Summarize the reports in five bullet points, most urgent first.\n",
        )],
    );
    let text = cadenya.run(d, &["plan", "."]);
    assert!(text.out.contains("6 -> 14 tokens (+8)\n"), "{}", text.out);
    write(
        d,
        &[(
            "m.yaml",
            &tree.replace("openai-gpt-5", "anthropic-claude-sonnet-4-6"),
        )],
    );
    let text = cadenya.run(d, &["plan", "."]);
    assert!(
        text.out
            .contains("6 -> 14 tokens (+8), approximate (o200k_base)"),
        "{}",
        text.out
    );
}
