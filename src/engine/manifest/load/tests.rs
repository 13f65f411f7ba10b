use super::*;

#[test]
fn without_blanks_ranges_and_keeps_every_other_offset() {
    let text = "a: 1\nbogus: {x: [é, 2]}\nb: {c: 1, typo: 2, d: 3}\n";
    let bogus = text.find("bogus").unwrap()..text.find("}\n").unwrap() + 1;
    let typo = text.find("typo").unwrap()..text.find("2, d").unwrap() + 1;
    let out = without(text, &[bogus, typo]);
    assert_eq!(out.len(), text.len());
    assert_eq!(out.find("b: {"), text.find("b: {"));
    assert!(out.contains("c: 1,          d: 3}"), "{out}");
    let v: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(v, serde_json::json!({"a": 1, "b": {"c": 1, "d": 3}}));
}

#[test]
fn splits_on_markers_only_at_line_start() {
    let docs = split_documents("# c\nkind: A\n---\nkind: B\n  ---x\n--- \nkind: C\n...\n");
    let texts: Vec<&str> = docs.iter().map(|(_, d)| d.trim()).collect();
    assert_eq!(texts, vec!["# c\nkind: A", "kind: B\n  ---x", "kind: C"]);
    assert_eq!(docs[1].0, "# c\nkind: A\n---".len());
}

/// Trust II item 1: when serde refuses a field the schema walk let
/// through (the two descriptions disagree), the document is not dropped
/// silently: serde's error is kept.
#[test]
fn a_document_that_does_not_parse_always_has_an_error() {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        kind: String,
        name: String,
    }
    impl Identities for Thing {}
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "kind: Thing\nname: x\nnmae: y\n").unwrap();
    // An open schema: the walk reports nothing.
    let kinds = KindTable::new(vec![("Thing", serde_json::json!({"type": "object"}))]);
    let env = |_: &str| None;
    let (mut ctx, docs) = load(dir.path(), &kinds, &env);
    assert!(!ctx.has_errors());
    assert!(ctx.parse::<Thing>(&docs[0]).is_none());
    let errors: Vec<_> = ctx.problems.iter().filter(|p| p.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.starts_with("unknown field `nmae`"));
    assert!(errors[0]
        .location
        .as_deref()
        .unwrap()
        .ends_with("a.yaml:3:1"));
}

#[test]
fn comment_only_documents_are_dropped() {
    assert!(split_documents("# only a comment\n---\n\n").is_empty());
}
