use super::*;

fn edit(text: &str, path: Vec<Seg>, value: NewValue) -> String {
    edit_at(text, 0, path, value)
}

/// `edit` in the document that starts at byte `base`.
fn edit_at(text: &str, base: usize, path: Vec<Seg>, value: NewValue) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, text).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let mut files = Files::default();
    let req = Request {
        origin: Origin {
            file: file.clone(),
            base,
        },
        path,
        value,
        address: "a".into(),
        field: "f".into(),
    };
    let e = plan(&mut files, &root, &req);
    if let Edit::Skip(why) = &e {
        return format!("skip: {why}");
    }
    let changed = apply(&mut files, &[e]);
    changed
        .into_iter()
        .next()
        .map(|(_, _, new)| new)
        .unwrap_or_else(|| text.to_string())
}

const DOC: &str = "kind: Agent # the agent\nid: a\ninstructions: |\n  Hello\n  World\nschedule:\n  cron: \"0 0 9 * * * *\"   # nine\n  paused: false\nwebhooks:\n  - url: https://x\n    events: [run.failed, run.completed]\n  - url: https://y\n    events:\n      - run.failed\n      - run.started\n    enabled: true\nicon: 'x''y'\n";

#[test]
fn scalars_keep_their_style_and_everything_around_them() {
    let out = edit(
        DOC,
        vec![key("schedule"), key("cron")],
        NewValue::Text("0 30 8 * * * *".into()),
    );
    assert_eq!(
        out,
        DOC.replace("\"0 0 9 * * * *\"   # nine", "\"0 30 8 * * * *\"   # nine")
    );
    let out = edit(
        DOC,
        vec![key("schedule"), key("paused")],
        NewValue::Bool(true),
    );
    assert_eq!(out, DOC.replace("paused: false", "paused: true"));
    let out = edit(DOC, vec![key("icon")], NewValue::Text("it's".into()));
    assert_eq!(out, DOC.replace("icon: 'x''y'", "icon: 'it''s'"));
}

/// A structured value (a JSON Schema) is written back as a JSON flow
/// value in place of the old one, block or flow, nested or not.
#[test]
fn a_structured_value_is_replaced_by_a_flow_value() {
    let v = serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}});
    for (doc, old) in [
        (
            "a: 1\ns: {\"properties\":{\"a5\":{\"type\":\"string\"}},\"type\":\"object\"}\nz: 2\n",
            "{\"properties\":{\"a5\":{\"type\":\"string\"}},\"type\":\"object\"}",
        ),
        (
            "a: 1\ns: {type: object, properties: {a: {type: string}}}\nz: 2\n",
            "{type: object, properties: {a: {type: string}}}",
        ),
        (
            "a: 1\ns:\n  type: object\n  properties:\n    a: {type: string}\nz: 2\n",
            "\n  type: object\n  properties:\n    a: {type: string}",
        ),
    ] {
        let out = edit(doc, vec![key("s")], NewValue::Json(v.clone()));
        // In a document after another (a base offset) too.
        let second = format!("kind: X\n---\n{doc}");
        let out2 = edit_at(
            &second,
            "kind: X\n---".len(),
            vec![key("s")],
            NewValue::Json(v.clone()),
        );
        let parsed2: serde_json::Value =
            serde_saphyr::from_str(out2.split("---\n").nth(1).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(parsed2["s"], v, "{second:?} → {out2:?}");
        let want = doc.replacen(
            old,
            &format!("{}{v}", if old.starts_with('\n') { " " } else { "" }),
            1,
        );
        let parsed: serde_json::Value = serde_saphyr::from_str(&out).unwrap_or_default();
        assert_eq!(parsed["s"], v, "{doc:?} → {out:?} (wanted {want:?})");
        assert_eq!(parsed["z"], 2, "{out:?}");
    }
}

#[test]
fn block_text_stays_a_literal_block_with_the_right_chomping() {
    let out = edit(
        DOC,
        vec![key("instructions")],
        NewValue::Text("Hi\n\nthere\n".into()),
    );
    assert_eq!(
        out,
        DOC.replace("|\n  Hello\n  World\n", "|\n  Hi\n\n  there\n")
    );
    let out = edit(
        DOC,
        vec![key("instructions")],
        NewValue::Text("no newline".into()),
    );
    assert_eq!(
        out,
        DOC.replace("|\n  Hello\n  World\n", "|-\n  no newline\n")
    );
    let out = edit(
        DOC,
        vec![key("instructions")],
        NewValue::Text(" leading space".into()),
    );
    assert_eq!(
        out,
        DOC.replace("|\n  Hello\n  World\n", "\" leading space\"\n")
    );
    for v in [
        "Hi\n\nthere\n",
        "no newline",
        " leading space",
        "two\n\n",
        "a: b # c\n",
    ] {
        let out = edit(DOC, vec![key("instructions")], NewValue::Text(v.into()));
        let back: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(back["instructions"], v, "{out}");
    }
}

#[test]
fn a_one_line_value_that_gains_lines_becomes_a_literal_block() {
    let doc = "kind: Agent\ninstructions: hi   # short\nwebhooks:\n  - url: x\n    note: y\n";
    let out = edit(
        doc,
        vec![key("instructions")],
        NewValue::Text("Line one.\nLine two.\n".into()),
    );
    assert_eq!(
        out,
        "kind: Agent\ninstructions: | # short\n  Line one.\n  Line two.\nwebhooks:\n  - url: x\n    note: y\n"
    );
    let out = edit(
        doc,
        vec![key("webhooks"), Seg::Index(0), key("note")],
        NewValue::Text("a\nb".into()),
    );
    assert_eq!(
        out,
        doc.replace("note: y\n", "note: |-\n      a\n      b\n")
    );
    for (path, v) in [
        (vec![key("instructions")], "x\n\ny"),
        (vec![key("webhooks"), Seg::Index(0), key("note")], "p\nq\n"),
    ] {
        let out = edit(doc, path.clone(), NewValue::Text(v.into()));
        let back: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        let got = if path.len() == 1 {
            &back["instructions"]
        } else {
            &back["webhooks"][0]["note"]
        };
        assert_eq!(got, v, "{out}");
    }
    // In a flow mapping it stays one quoted line.
    let flow = "kind: Agent\nwebhooks: [{url: x, note: y}]\n";
    let out = edit(
        flow,
        vec![key("webhooks"), Seg::Index(0), key("note")],
        NewValue::Text("a\nb".into()),
    );
    assert_eq!(out, flow.replace("note: y", "note: \"a\\nb\""));
}

#[test]
fn lists_keep_their_flow_or_block_layout() {
    let events = NewValue::List(vec!["run.completed".into(), "run.stopped".into()]);
    let out = edit(
        DOC,
        vec![key("webhooks"), Seg::Index(0), key("events")],
        events.clone(),
    );
    assert_eq!(
        out,
        DOC.replace(
            "[run.failed, run.completed]",
            "[run.completed, run.stopped]"
        )
    );
    let out = edit(
        DOC,
        vec![key("webhooks"), Seg::Index(1), key("events")],
        events,
    );
    assert_eq!(
        out,
        DOC.replace(
            "      - run.failed\n      - run.started\n",
            "      - run.completed\n      - run.stopped\n"
        )
    );
}

#[test]
fn a_missing_key_is_added_to_its_mapping() {
    let out = edit(
        DOC,
        vec![key("webhooks"), Seg::Index(0), key("enabled")],
        NewValue::Bool(false),
    );
    assert_eq!(
        out,
        DOC.replace("completed]\n", "completed]\n    enabled: false\n")
    );
    let flow = "kind: Agent\nwebhooks:\n  - {url: https://x, events: [run.failed]}\n";
    let out = edit(
        flow,
        vec![key("webhooks"), Seg::Index(0), key("enabled")],
        NewValue::Bool(false),
    );
    assert_eq!(
        out,
        flow.replace("[run.failed]}", "[run.failed], enabled: false}")
    );
}

#[test]
fn interpolated_and_templated_fields_are_never_overwritten() {
    let doc = "kind: Agent\nicon: '${ICON}'\ninstructions: {template: p.j2}\n";
    assert!(
        edit(doc, vec![key("icon")], NewValue::Text("x".into())).starts_with("skip: interpolated")
    );
    assert!(
        edit(doc, vec![key("instructions")], NewValue::Text("x".into()))
            .starts_with("skip: rendered from a template")
    );
}

#[test]
fn a_nested_block_text_is_replaced_and_everything_else_reads_the_same() {
    let docs = [
        "kind: A\nvariations:\n  c:\n    prompt: |\n      Answer.\n    model: x\n  d:\n    prompt: y\n",
        "kind: A\nvariations:\n  c:\n    prompt: |   # reviewed\n      Answer.\n\n    model: x\n",
        "kind: A\nvariations:\n  c:\n    prompt: |-\n\n      Answer.\n    model: x\n",
        "kind: A\nvariations:\n  c:\n    prompt: |+\n      Answer.\n\n\n    model: x\n",
        "kind: A\nvariations:\n  - prompt: >\n      Answer\n      more.\n    model: x\n  - prompt: z\n",
        "kind: A\nvariations:\n  c:\n    prompt: |\n      Answer.\n",
    ];
    let values = [
        "New\nprompt.\n",
        "Keep\n\n",
        "one line",
        "two\nlines",
        " leading",
        "",
    ];
    for doc in docs {
        let before: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
        let path = if doc.contains("  - prompt") {
            vec![key("variations"), Seg::Index(0), key("prompt")]
        } else {
            vec![key("variations"), key("c"), key("prompt")]
        };
        for v in values {
            let out = edit(doc, path.clone(), NewValue::Text(v.into()));
            let after: serde_json::Value =
                serde_saphyr::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
            let mut expected = before.clone();
            let at = if doc.contains("  - prompt") {
                "/variations/0/prompt"
            } else {
                "/variations/c/prompt"
            };
            *expected.pointer_mut(at).unwrap() = v.into();
            assert_eq!(after, expected, "{doc:?} with {v:?}:\n{out}");
        }
    }
}

#[test]
fn a_value_shared_by_an_anchor_and_alias_is_never_written() {
    let doc = "kind: A\nbase: &p Hello\nvariations:\n  c: &c\n    prompt: *p\n    model: x\n  d:\n    <<: *c\n    weight: 2\n  e: *c\n";
    for path in [
        vec![key("base")],
        vec![key("variations"), key("c"), key("prompt")],
        vec![key("variations"), key("c"), key("model")],
        vec![key("variations"), key("d"), key("model")],
        vec![key("variations"), key("e"), key("model")],
        vec![key("variations"), key("c"), key("weight")],
    ] {
        let out = edit(doc, path.clone(), NewValue::Text("changed".into()));
        assert!(
            out.starts_with("skip: anchored")
                || out.starts_with("skip: reached through a YAML alias"),
            "{path:?}: {out}"
        );
    }
    let out = edit(
        doc,
        vec![key("variations"), key("d"), key("weight")],
        NewValue::Number("3".into()),
    );
    assert_eq!(out, doc.replace("weight: 2", "weight: 3"));
}

#[test]
fn verify_accepts_exactly_the_requested_change() {
    let old = "kind: A\nid: a\nv:\n  c:\n    prompt: |\n      x\n    model: m\n---\nkind: B\n";
    let req = Request {
        origin: Origin {
            file: PathBuf::from("m.yaml"),
            base: 0,
        },
        path: vec![key("v"), key("c"), key("prompt")],
        value: NewValue::Text("y\n".into()),
        address: "a".into(),
        field: "prompt".into(),
    };
    let good = old.replace("      x\n", "      y\n");
    assert_eq!(verify(old, &good, &[&req]), Ok(()));
    // The sibling dedented (what a mis-read span did): refused.
    let dedented = old.replace("      x\n    model", "      y\nmodel");
    assert!(verify(old, &dedented, &[&req]).is_err());
    // Anything else changed, in this document or another: refused.
    assert!(verify(old, &good.replace("model: m", "model: n"), &[&req]).is_err());
    assert!(verify(old, &good.replace("kind: B", "kind: C"), &[&req]).is_err());
    assert!(verify(old, &good.replace("prompt: |", "prompt: ["), &[&req]).is_err());
}
