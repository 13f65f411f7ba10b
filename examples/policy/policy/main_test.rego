# Tests of the starter policies: `twinform policy test .` (or `opa test .`).
package main_test

import data.main

resource(kind, address, fields) := {
	"provider": "test",
	"kind": kind,
	"address": address,
	"file": "agents.yaml",
	"line": 1,
	"column": 1,
	"fields": fields,
	"prompts": [],
	"schedules": [],
}

twig_agent(fields) := resource("TwigAgent", "twig.agent[\"Reports\"]", fields)

# Models
test_approved_models_pass if {
	count(main.deny_unapproved_model) == 0 with input as {"resources": [twig_agent({"model": "gpt-5"})]}
}

test_an_unapproved_model_is_denied_at_its_field if {
	found := main.deny_unapproved_model with input as {"resources": [twig_agent({"model": "gpt-3"})]}
	some f in found
	f.address == "twig.agent[\"Reports\"]"
	f.field == ["model"]
	contains(f.msg, "gpt-3")
}

test_a_workspace_enabling_an_unapproved_model_is_denied_at_that_model if {
	ws := resource("CadenyaWorkspace", "cadenya.workspace[\"dev\"]", {"models": ["gpt-5", "llama-2"]})
	found := main.deny_unapproved_model with input as {"resources": [ws]}
	count(found) == 1
	some f in found
	f.field == ["models", 1]
}

test_variation_models_are_checked if {
	agent := resource("CadenyaAgent", "cadenya.agent[\"dev/ask\"]", {"variations": {"a": {"model": "gpt-3"}, "b": {"model": "gpt-5"}}})
	found := main.deny_unapproved_model with input as {"resources": [agent]}
	count(found) == 1
	some f in found
	f.field == ["variations", "a", "model"]
}

# Temperature
test_temperature_at_the_limit_passes if {
	count(main.deny_temperature) == 0 with input as {"resources": [twig_agent({"temperature": 0.7})]}
}

test_temperature_over_the_limit_is_denied if {
	found := main.deny_temperature with input as {"resources": [twig_agent({"temperature": 0.9})]}
	count(found) == 1
}

# Webhooks
twin_agent(url) := resource("TwinAgent", "agent[\"digest\"]", {"webhooks": [{"url": url, "events": ["run.failed"]}]})

test_https_webhooks_pass if {
	count(main.deny_webhook_not_https) == 0 with input as {"resources": [twin_agent("https://hooks.example.com/(sensitive)")]}
}

test_http_webhooks_are_denied_at_their_url if {
	found := main.deny_webhook_not_https with input as {"resources": [twin_agent("http://hooks.example.com/x")]}
	some f in found
	f.field == ["webhooks", 0, "url"]
}

test_webhook_urls_of_agents_are_checked if {
	agent := resource("CadenyaAgent", "cadenya.agent[\"dev/ask\"]", {"webhook_url": "http://hooks.example.com/c"})
	count(main.deny_webhook_not_https) == 1 with input as {"resources": [agent]}
}

test_a_url_from_the_environment_is_a_warning if {
	doc := {"resources": [twin_agent("(sensitive)")]}
	count(main.deny_webhook_not_https) == 0 with input as doc
	count(main.warn_webhook_unchecked) == 1 with input as doc
}

# Schedules
scheduled(s) := object.union(resource("TwinAgent", "agent[\"digest\"]", {}), {"schedules": [s]})

test_a_schedule_every_15_minutes_passes if {
	s := {"path": "schedule", "cron": "0 */15 * * * * *", "min_interval_seconds": 900}
	count(main.deny_schedule_too_frequent) == 0 with input as {"resources": [scheduled(s)]}
}

test_a_schedule_every_5_minutes_is_denied_at_its_cron if {
	s := {"path": "schedule", "cron": "0 */5 * * * * *", "min_interval_seconds": 300}
	found := main.deny_schedule_too_frequent with input as {"resources": [scheduled(s)]}
	some f in found
	f.field == "schedule.cron"
}

test_an_interval_schedule_is_denied_at_every if {
	s := {"path": "schedules.poll", "every": "1m", "min_interval_seconds": 60}
	found := main.deny_schedule_too_frequent with input as {"resources": [scheduled(s)]}
	some f in found
	f.field == "schedules.poll.every"
}

# Safety fragment
prompted(address, p) := object.union(resource("TwinAgent", address, {"workspace": "Ops"}), {"prompts": [p]})

test_a_customer_facing_prompt_without_the_fragment_is_denied if {
	p := {"path": "instructions", "text": "Answer tickets.", "tokens": 3}
	found := main.deny_missing_safety with input as {"resources": [prompted("agent[\"support-triage\"]", p)]}
	some f in found
	f.field == "instructions"
}

test_the_fragment_or_the_text_satisfies_it if {
	with_fragment := {"path": "instructions", "text": "Answer.", "tokens": 1, "fragments": ["fragments/safety.md"]}
	with_text := {"path": "instructions", "text": "Answer.\n## Safety\nNever share data.", "tokens": 9}
	count(main.deny_missing_safety) == 0 with input as {"resources": [prompted("agent[\"support-a\"]", with_fragment), prompted("agent[\"support-b\"]", with_text)]}
}

test_a_customer_facing_workspace_counts if {
	r := object.union(resource("TwinAgent", "agent[\"triage\"]", {"workspace": "Customer Care"}), {"prompts": [{"path": "instructions", "text": "Hi", "tokens": 1}]})
	count(main.deny_missing_safety) == 1 with input as {"resources": [r]}
}

test_internal_prompts_need_no_fragment if {
	p := {"path": "instructions", "text": "Summarize.", "tokens": 2}
	count(main.deny_missing_safety) == 0 with input as {"resources": [prompted("agent[\"digest\"]", p)]}
}

# Prompt length
test_a_prompt_at_the_limit_passes if {
	p := {"path": "instructions", "text": "…", "tokens": 8000}
	count(main.deny_prompt_too_long) == 0 with input as {"resources": [prompted("agent[\"digest\"]", p)]}
}

test_a_prompt_over_the_limit_is_denied if {
	p := {"path": "variations.default.prompt", "text": "…", "tokens": 8001}
	found := main.deny_prompt_too_long with input as {"resources": [prompted("agent[\"digest\"]", p)]}
	some f in found
	f.field == "variations.default.prompt"
}

# Prune
test_prune_with_an_owner_passes if {
	ws := resource("CadenyaWorkspace", "cadenya.workspace[\"dev\"]", {"prune": true, "owner": "support-tools"})
	count(main.deny_prune_without_owner) == 0 with input as {"resources": [ws]}
}

test_prune_without_an_owner_is_denied if {
	ws := resource("TwinWorkspace", "workspace[\"Support\"]", {"name": "Support", "prune": true})
	found := main.deny_prune_without_owner with input as {"resources": [ws]}
	some f in found
	f.field == "prune"
}

test_settings_can_name_an_owner if {
	ws := resource("TwinWorkspace", "workspace[\"Support\"]", {"name": "Support", "prune": true})
	count(main.deny_prune_without_owner) == 0 with input as {"resources": [ws]}
		with data.twinform.settings.owners as {"workspace[\"Support\"]": "support-team"}
}

# Plans
test_destructive_changes_warn if {
	c := {"address": "agent[\"old\"]", "action": "delete", "destructive": true}
	found := main.warn_destructive with input as {"resources": [], "changes": [c]}
	some f in found
	f.address == "agent[\"old\"]"
}

test_a_prompt_growing_a_lot_warns if {
	c := {"address": "agent[\"x\"].instructions", "destructive": false, "tokens": {"before": 100, "after": 1500, "delta": 1400}}
	count(main.warn_prompt_growth) == 1 with input as {"resources": [], "changes": [c]}
}

test_an_empty_input_finds_nothing if {
	count(main.deny_unapproved_model | main.deny_temperature | main.deny_webhook_not_https | main.deny_prompt_too_long) == 0 with input as {"resources": [], "changes": []}
}
