# Settings of the starter policies (`twinform policy init`): change these
# values; the rules in main.rego read them.
package twinform.settings

# Models an agent may use: Twig agents' `model`, Cadenya variations'
# `model` (`<AI provider key>.<model>`) and Cadenya workspaces' `models`
# (`provider/family`).
approved_models := {
	"gpt-4o",
	"gpt-4.1",
	"gpt-5",
	"openai/gpt-5",
	"anthropic/claude-sonnet-4.6",
	"getting-started-key.openai-gpt-5",
	"getting-started-key.anthropic-claude-sonnet-4-6",
}

# The highest `temperature` an agent or a variation may have.
max_temperature := 0.7

# The shortest time between two runs of a schedule (a cron or `every`).
min_schedule_minutes := 15

# The longest prompt, in tokens (o200k_base, as plans count them).
max_prompt_tokens := 8000

# A plan that grows a prompt by more than this many tokens is a warning.
max_prompt_growth := 1000

# Customer-facing resources: those whose address or workspace contains
# one of these words (lower case).
customer_facing := {"support", "customer"}

# What every customer-facing prompt includes: this fragment (through a
# template's `{% include %}`), or this text.
safety_fragment := "fragments/safety.md"

safety_text := "## Safety"

# Owners of what prunes, for kinds without an `owner` field (Twin
# workspaces, Twig's organization): an address or a kind -> a team.
# For example {"workspace[\"Support\"]": "support-team"}.
owners := {}
