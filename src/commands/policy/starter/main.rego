# The starter policies of `twinform policy init`: the rules a reviewer
# should not have to remember. Settings are in settings.rego, tests in
# main_test.rego (`twinform policy test`). Each finding names the resource
# (`address`) and the field it is about, so twinform reports it at that
# field's line. Rules over `input.changes` alone (the last two) also run in
# conftest on `twinform plan -o json`.
#
# Exceptions work as in conftest: `exception contains ["temperature"]`
# exempts deny_temperature (for the whole input), for example
#
#   exception contains ["temperature"] if input.command == "validate"
package main

import data.twinform.settings

# A finding about `r` at `path` (a list of keys, or a dotted name).
finding(r, path, msg) := {"msg": msg, "address": r.address, "field": path}

agent_kinds := {"TwinAgent", "TwigAgent", "CadenyaAgent"}

customer_facing(r) if {
	some word in settings.customer_facing
	contains(lower(r.address), word)
}

customer_facing(r) if {
	some word in settings.customer_facing
	contains(lower(r.fields.workspace), word)
}

# Only approved models: an agent's own `model` (Twig), each variation's
# (Cadenya), and the `models` a workspace enables (Cadenya).
unapproved(r, path, model) := finding(r, path, msg) if {
	is_string(model)
	not model in settings.approved_models
	msg := sprintf("model %q is not approved (settings.approved_models)", [model])
}

deny_unapproved_model contains f if {
	some r in input.resources
	f := unapproved(r, ["model"], r.fields.model)
}

deny_unapproved_model contains f if {
	some r in input.resources
	some name, v in r.fields.variations
	f := unapproved(r, ["variations", name, "model"], v.model)
}

deny_unapproved_model contains f if {
	some r in input.resources
	some i, model in r.fields.models
	f := unapproved(r, ["models", i], model)
}

# Temperature at most settings.max_temperature: an agent's own (Twig) and
# each variation's (Cadenya).
too_hot(r, path, t) := finding(r, path, msg) if {
	is_number(t)
	t > settings.max_temperature
	msg := sprintf("temperature %v is above the allowed %v", [t, settings.max_temperature])
}

deny_temperature contains f if {
	some r in input.resources
	f := too_hot(r, ["temperature"], r.fields.temperature)
}

deny_temperature contains f if {
	some r in input.resources
	some name, v in r.fields.variations
	f := too_hot(r, ["variations", name, "temperature"], v.temperature)
}

# Every webhook on HTTPS: each of an agent's `webhooks` (Twin), an agent's
# `webhook_url` (Cadenya).
webhook_urls(r) := {[path, url] |
	some i, hook in r.fields.webhooks
	path := ["webhooks", i, "url"]
	url := hook.url
} | {[["webhook_url"], r.fields.webhook_url] | r.fields.webhook_url}

deny_webhook_not_https contains f if {
	some r in input.resources
	some [path, url] in webhook_urls(r)
	is_string(url)
	url != "(sensitive)"
	not startswith(url, "https://")
	f := finding(r, path, sprintf("webhook %s is not HTTPS", [url]))
}

warn_webhook_unchecked contains f if {
	some r in input.resources
	some [path, url] in webhook_urls(r)
	url == "(sensitive)"
	f := finding(r, path, "this webhook URL comes whole from the environment, so its scheme cannot be checked: write its `https://host/` part in the manifest")
}

# No schedule more often than every settings.min_schedule_minutes.
schedule_key(s) := "cron" if s.cron

schedule_key(s) := "every" if not s.cron

deny_schedule_too_frequent contains f if {
	some r in input.resources
	some s in r.schedules
	is_number(s.min_interval_seconds)
	s.min_interval_seconds < settings.min_schedule_minutes * 60
	msg := sprintf("this schedule runs as often as every %v minutes; the most often allowed is every %v minutes", [s.min_interval_seconds / 60, settings.min_schedule_minutes])
	f := finding(r, concat(".", [s.path, schedule_key(s)]), msg)
}

# Every customer-facing prompt includes the safety fragment.
has_safety(p) if settings.safety_fragment in p.fragments

has_safety(p) if contains(p.text, settings.safety_text)

deny_missing_safety contains f if {
	some r in input.resources
	r.kind in agent_kinds
	customer_facing(r)
	some p in r.prompts
	not has_safety(p)
	f := finding(r, p.path, sprintf("this customer-facing prompt does not include %s (or the text %q)", [settings.safety_fragment, settings.safety_text]))
}

# No prompt over settings.max_prompt_tokens.
deny_prompt_too_long contains f if {
	some r in input.resources
	some p in r.prompts
	p.tokens > settings.max_prompt_tokens
	f := finding(r, p.path, sprintf("this prompt is %d tokens, over the limit of %d", [p.tokens, settings.max_prompt_tokens]))
}

# No prune without an owner.
owned(r) if {
	is_string(r.fields.owner)
	r.fields.owner != ""
}

owned(r) if settings.owners[r.address]

owned(r) if settings.owners[r.kind]

deny_prune_without_owner contains f if {
	some r in input.resources
	r.fields.prune == true
	not owned(r)
	f := finding(r, "prune", sprintf("%s prunes (deletes what no manifest declares) but has no owner: set `owner`, or name one in settings.owners", [r.kind]))
}

# In a plan: what it destroys, and prompts that grow a lot.
warn_destructive contains f if {
	some c in input.changes
	c.destructive
	f := {"msg": sprintf("%s is destroyed (%s)", [c.address, c.action]), "address": c.address}
}

warn_prompt_growth contains f if {
	some c in input.changes
	c.tokens.delta > settings.max_prompt_growth
	f := {"msg": sprintf("%s grows by %d tokens (%d -> %d)", [c.address, c.tokens.delta, c.tokens.before, c.tokens.after]), "address": c.address}
}
