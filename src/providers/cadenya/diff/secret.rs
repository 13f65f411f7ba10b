//! Workspace secrets, and the write-only rule tool-set secrets share: the
//! value is never read back (`spec.value` is optional in every answer and
//! the emulator never echoes it), so it is compared by a keyed fingerprint
//! kept in the label `twinform.io/value-hmac` (an HMAC keyed by a hash of
//! the API key: `read.rs`), which publishes neither the value nor an
//! unsalted hash of it. A secret whose label is missing (made elsewhere) is
//! unknown: it is written only with `--sync-secrets`, so an export (whose
//! values are placeholders) plans empty.

use super::*;
use crate::providers::cadenya::tables;
use crate::providers::cadenya::wire::FINGERPRINT_LABEL;

impl Differ<'_> {
    /// Whether a live secret's value is written, and the change that says
    /// so with the labels it gets (its own, the fingerprint, the owner's).
    pub(super) fn secret_value(
        &mut self,
        address: &str,
        live: &Resource,
        digest: &str,
        owner: Option<&str>,
    ) -> Option<(Change, BTreeMap<String, String>)> {
        let have = live.metadata.labels.get(FINGERPRINT_LABEL);
        let reason = match have {
            _ if self.local.sync_secrets => "--sync-secrets",
            None => {
                self.plan.warnings.push(format!(
                    "{address}: its value is unknown to twinform (no fingerprint: it was set elsewhere); `--sync-secrets` writes the declared value"
                ));
                return None;
            }
            Some(h) if h != digest => "its value changed (the keyed fingerprint differs)",
            Some(_) => return None,
        };
        let mut c = self.change(address, "secret", Action::Update, None);
        c.label = Some(lit(live.id()));
        c.fields
            .push(FieldChange::new("value", Shown::secret(), Shown::secret()));
        c.reason = Some(reason.into());
        let mut labels = live.metadata.labels.clone();
        labels.insert(FINGERPRINT_LABEL.into(), digest.into());
        if let Some(o) = owner {
            labels.insert(OWNER_LABEL.into(), o.into());
        }
        Some((c, labels))
    }

    pub(super) fn secret(&mut self, ws: &Ws, spec: &SecretSpec) {
        let address = secret_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.secrets), &spec.id);
        let digest = self
            .live
            .secret_digests
            .get(&(ws.id().to_string(), spec.id.clone()))
            .cloned()
            .unwrap_or_default();
        let path = |rest: Option<Seg>| {
            let mut p = vec![Seg::Lit("workspace_secrets".into())];
            p.extend(rest);
            under(&ws.seg, p)
        };
        // The name defaults to the id and is always compared.
        let values = spec
            .values
            .clone()
            .with_default("name", serde_json::json!(spec.name));
        match live {
            None => {
                let mut c = self.change(&address, "secret", Action::Create, None);
                let mut body = create_body(
                    &tables::SECRET,
                    &values,
                    "name",
                    &spec.id,
                    ws.owner(),
                    &mut c,
                );
                c.fields.push(FieldChange::after("value", Shown::secret()));
                c.depends_on = ws.deps();
                body["metadata"]["labels"][FINGERPRINT_LABEL] = json!(digest);
                body["spec"]["value"] = json!(spec.value.expose());
                let mut w = write(What::Secret, Verb::Create, "POST", path(None), Some(body));
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let (mut c, mut labels) =
                    match self.secret_value(&address, live, &digest, ws.owner()) {
                        Some((c, l)) => (c, Some(l)),
                        None => {
                            let mut c = self.change(&address, "secret", Action::Update, None);
                            c.label = Some(lit(live.id()));
                            (c, None)
                        }
                    };
                let mut p = Patch::default();
                table_diff(&tables::SECRET, &values, live, &mut c, &mut p);
                if labels.is_some() {
                    p.set("spec.value", "spec.value", json!(spec.value.expose()));
                }
                if adopt && labels.is_none() {
                    labels = ws.owner().map(|o| Self::adopted_labels(live, o));
                    c.notes.push("adopted: it gets the owner's label".into());
                }
                if !p.is_empty() || labels.is_some() {
                    let body = patch_body(p, live, labels.as_ref(), false);
                    let w = write(
                        What::Secret,
                        Verb::Update,
                        "PATCH",
                        path(Some(Seg::Id(live.id().into()))),
                        Some(body),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
            }
        }
    }
}
