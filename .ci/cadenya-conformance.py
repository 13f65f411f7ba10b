#!/usr/bin/env python3
"""Drive `twinform emulator --provider cadenya` with Cadenya's official Python
SDK (`cadenya`, the version .ci/cadenya-conformance pins) through every
method twinform calls: create, list with paging and filters, get by id and by
external_id, update with masks (leaf paths leave their siblings alone),
delete, every action, and the API's rules. The SDK's decoders fail on a
missing required field; what they do not check (a union's `type` tag, state
changes, content round trips, masks, label filtering) is asserted here.

A difference between the SDK and the emulator is a bug in the emulator.

Usage: CADENYA_BASE_URL=http://127.0.0.1:PORT cadenya-conformance.py
Exit status 0 when every step passes.
"""

import json
import os
import secrets
import sys
import traceback
import urllib.error
import urllib.request

from cadenya import APIError, APIResponseError, Cadenya

BASE = os.environ["CADENYA_BASE_URL"].rstrip("/")
KEY = "ci-conformance-key"
client = Cadenya(api_key=KEY, base_url=BASE, max_retries=0)

passed = 0
failed = []


def step(name, fn):
    """Run one SDK call (or check); a raise is a failure."""
    global passed
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported
        failed.append(name)
        detail = e.message if isinstance(e, APIError) else str(e)
        print(f"FAIL {name}: {type(e).__name__}: {detail}")
        if not isinstance(e, (APIError, APIResponseError, AssertionError)):
            traceback.print_exc(limit=3)
        return None
    passed += 1
    print(f"PASS {name}")
    return out


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
        print(f"PASS {name}")
    else:
        failed.append(name)
        print(f"FAIL {name} {detail}")


def fields_of(err):
    out = []
    for d in err.details or []:
        for v in d.get("fieldViolations", []) or []:
            out.append(v.get("field", ""))
    return out


def refused(name, fn, status, field=None):
    """The call must fail with `status` (and a field violation naming `field`)."""
    global passed
    try:
        fn()
    except APIError as e:
        ok = e.status_code == status and (field is None or any(field in f for f in fields_of(e)))
        if ok and e.code is not None and isinstance(e.details, list):
            passed += 1
            print(f"PASS {name} ({status} {e.message})")
            return e
        failed.append(name)
        print(f"FAIL {name}: wanted {status} {field or ''}, got {e.status_code} {e.code} {e.message} {fields_of(e)}")
        return e
    except Exception as e:  # noqa: BLE001
        failed.append(name)
        print(f"FAIL {name}: wanted APIError {status}, got {type(e).__name__}: {e}")
        return None
    failed.append(name)
    print(f"FAIL {name}: wanted {status}, the call succeeded")
    return None


def raw(method, path, body=None, auth=True):
    """A request the SDK would not send (drifting cursors, emulator helpers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if auth:
        req.add_header("Authorization", f"Bearer {KEY}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, (json.loads(text) if text else None)


RUN = secrets.token_hex(4)
OWNER = {"twinform.io/owner": f"ci-{RUN}"}
SEL = f"twinform.io/owner=ci-{RUN}"
MODEL = "getting-started-key.openai-gpt-4-1"


def lab(**more):
    out = dict(OWNER)
    out.update(more)
    return out


def ids(page_or_iter):
    return [x.metadata.id for x in page_or_iter]


# ---------------------------------------------------------------- identity, workspaces

me = step("profiles.whoami", lambda: client.profiles.whoami())
check("whoami: profile and default workspace", me is not None and me.profile.spec.type == "PROFILE_TYPE_API_KEY"
      and me.default_workspace is not None and me.default_workspace.id)
step("workspaces.list", lambda: [w.metadata.id for w in client.workspaces.list()])
ws = step("workspace_admin.create", lambda: client.workspace_admin.create(
    metadata={"name": f"Conformance {RUN}", "external_id": f"conf-{RUN}", "labels": lab()},
    spec={"description": "the SDK conformance run"}))
W = ws.metadata.id if ws else "external_id:default"
check("workspace: status and info", ws is not None and ws.status == "STATUS_ENABLED" and ws.info is not None)
step("workspace_admin.retrieve by id", lambda: client.workspace_admin.retrieve(workspace_id=W))
step("workspace_admin.retrieve by external_id",
     lambda: client.workspace_admin.retrieve(workspace_id=f"external_id:conf-{RUN}"))
upd = step("workspace_admin.update (mask spec.description)", lambda: client.workspace_admin.update(
    workspace_id=W, spec={"description": "changed"}, update_mask="spec.description"))
check("workspace update kept the name", upd is not None and upd.metadata.name == f"Conformance {RUN}"
      and upd.spec.description == "changed")
found = step("workspace_admin.list_account (labels)", lambda: ids(client.workspace_admin.list_account(labels=SEL)))
check("account list filtered by label", found == [W], found)
step("workspaces.list with workspace id default", lambda: client.workspaces.list(labels=SEL, limit=1).items)

# ---------------------------------------------------------------- models

models = step("models.list", lambda: list(client.models.list(workspace_id=W)))
check("models seeded with capabilities (union tags)", bool(models) and all(
    m.spec.capabilities and all(c is not None for c in m.spec.capabilities) for m in models))
gpt = step("models.retrieve by external_id",
           lambda: client.models.retrieve("external_id:openai-gpt-4-1", workspace_id=W))
if gpt:
    d = step("models.disable", lambda: client.models.disable(gpt.metadata.id, workspace_id=W))
    check("model disabled", d is not None and d.state == "STATE_DISABLED")
    dis = step("models.list state=STATE_DISABLED",
               lambda: ids(client.models.list(workspace_id=W, state="STATE_DISABLED")))
    check("state filter", dis is not None and gpt.metadata.id in dis)
    e = step("models.enable", lambda: client.models.enable(gpt.metadata.id, workspace_id=W))
    check("model enabled", e is not None and e.state == "STATE_ENABLED")
paged = step("models paging limit=1", lambda: ids(client.models.list(workspace_id=W, limit=1)))
check("models: every page walked", paged is not None and models is not None and len(paged) == len(models))

keys = step("ai_provider_keys.list", lambda: list(client.ai_provider_keys.list(workspace_id=W)))
check("the getting-started provider key", bool(keys) and keys[0].metadata.external_id == "getting-started-key"
      and keys[0].info is not None and keys[0].info.is_promotional)
step("ai_provider_keys.retrieve by external_id", lambda: client.ai_provider_keys.retrieve(
    "external_id:getting-started-key", workspace_id=W, include_info=True))
wl = step("widgets.list (the emulator has none)", lambda: list(client.widgets.list(workspace_id=W, labels=SEL)))
check("no widgets", wl == [], wl)

# ---------------------------------------------------------------- tool sets, secrets, tools

ts = step("tool_sets.create (http, secrets inline)", lambda: client.tool_sets.create(
    workspace_id=W,
    metadata={"name": "CRM", "external_id": "crm", "labels": lab()},
    spec={"description": "CRM API",
          "adapter": {"type": "http", "http": {"base_url": "https://crm.example.com",
                                               "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"}}},
          "secrets": [{"name": "TOKEN", "value": "s3cret"}]}))
TS = ts.metadata.id if ts else "missing"
check("tool set: adapter tag and state", ts is not None and ts.spec.adapter is not None
      and ts.spec.adapter.type == "http" and ts.state == "STATE_ACTIVE")
check("tool set: secret listed without its value", ts is not None and ts.spec.secrets is not None
      and [(s.name, s.value) for s in ts.spec.secrets] == [("TOKEN", None)])
bare = step("tool_sets.create (bare)", lambda: client.tool_sets.create(
    workspace_id=W, metadata={"name": "Human", "external_id": "human", "labels": lab()},
    spec={"adapter": {"type": "bare", "bare": {"content_timeout": 600}}}))
mcp = step("tool_sets.create (mcp)", lambda: client.tool_sets.create(
    workspace_id=W, metadata={"name": "Docs", "external_id": "docs", "labels": lab(team="docs")},
    spec={"adapter": {"type": "mcp", "mcp": {"url": "https://mcp.example.com",
          "tool_approvals": {"type": "always", "always": True},
          "include_tools": {"operator": "OPERATOR_OR", "filters": [
              {"attribute": "ATTRIBUTE_NAME", "matcher": {"type": "startsWith", "starts_with": "get_"}}]}}}}))
check("mcp adapter nested unions decoded", mcp is not None and mcp.spec.adapter.mcp.tool_approvals is not None
      and mcp.spec.adapter.mcp.include_tools.filters[0].matcher is not None)
step("tool_sets.retrieve by id", lambda: client.tool_sets.retrieve(TS, workspace_id=W))
step("tool_sets.retrieve by external_id", lambda: client.tool_sets.retrieve("external_id:crm", workspace_id=W))
leaf = step("tool_sets.update leaf spec.adapter.http.baseUrl", lambda: client.tool_sets.update(
    TS, workspace_id=W, spec={"adapter": {"type": "http", "http": {"base_url": "https://crm2.example.com"}}},
    update_mask="spec.adapter.http.baseUrl"))
check("leaf mask kept the adapter's headers and the description", leaf is not None
      and leaf.spec.adapter.http.base_url == "https://crm2.example.com"
      and leaf.spec.adapter.http.headers == {"Authorization": "Bearer {{ secrets.TOKEN }}"}
      and leaf.spec.description == "CRM API")
snake = step("tool_sets.update snake_case mask path", lambda: client.tool_sets.update(
    TS, workspace_id=W, spec={"adapter": {"type": "http", "http": {"base_url": "https://crm.example.com"}}},
    update_mask="spec.adapter.http.base_url"))
check("snake_case mask applied", snake is not None and snake.spec.adapter.http.base_url == "https://crm.example.com")
nm = step("tool_sets.update metadata.name", lambda: client.tool_sets.update(
    TS, workspace_id=W, metadata={"name": "CRM v2", "external_id": "crm", "labels": lab()},
    update_mask="metadata.name"))
check("metadata mask kept the spec", nm is not None and nm.metadata.name == "CRM v2" and nm.spec.adapter.type == "http")
sel_team = step("tool_sets.list labels AND", lambda: ids(client.tool_sets.list(
    workspace_id=W, labels=f"{SEL},team=docs")))
check("labels filter is AND", mcp is not None and sel_team == [mcp.metadata.id], sel_team)
if bare:
    a = step("tool_sets.archive", lambda: client.tool_sets.archive(bare.metadata.id, workspace_id=W))
    check("tool set archived", a is not None and a.state == "STATE_ARCHIVED")
    default = step("tool_sets.list default", lambda: ids(client.tool_sets.list(workspace_id=W, labels=SEL)))
    check("default list hides archived tool sets", default is not None and bare.metadata.id not in default)
    arch = step("tool_sets.list state=STATE_ARCHIVED", lambda: ids(client.tool_sets.list(
        workspace_id=W, labels=SEL, state="STATE_ARCHIVED")))
    check("archived list", arch == [bare.metadata.id], arch)
    u = step("tool_sets.unarchive", lambda: client.tool_sets.unarchive(bare.metadata.id, workspace_id=W))
    check("tool set active again", u is not None and u.state == "STATE_ACTIVE")

odd = step("tool_sets.create (externalId with a space and a slash)", lambda: client.tool_sets.create(
    workspace_id=W, metadata={"name": "Odd", "external_id": "odd id/1", "labels": lab()},
    spec={"adapter": {"type": "openapi", "openapi": {"type": "url", "url": "https://x.example/openapi.json",
                                                     "base_url": "https://x.example"}}}))
check("openapi source union decoded", odd is not None and odd.spec.adapter.openapi is not None
      and odd.spec.adapter.openapi.type == "url")
oa = step("tool_sets.archive by an encoded external_id", lambda: client.tool_sets.archive(
    "external_id:odd id/1", workspace_id=W))
check("archived through its external id", oa is not None and odd is not None
      and oa.metadata.id == odd.metadata.id and oa.state == "STATE_ARCHIVED")
step("tool_sets.delete by an encoded external_id",
     lambda: client.tool_sets.delete("external_id:odd id/1", workspace_id=W))

sec = step("tool_sets.secrets.create", lambda: client.tool_sets.secrets.create(
    TS, workspace_id=W, metadata={"name": "REFRESH", "external_id": "refresh", "labels": lab()},
    spec={"value": "r3fresh"}))
check("tool set secret value never echoed", sec is not None and sec.spec.value is None)
secs = step("tool_sets.secrets.list", lambda: [s.metadata.name for s in client.tool_sets.secrets.list(TS, workspace_id=W)])
check("secrets list holds the inline and the created secret", secs is not None and sorted(secs) == ["REFRESH", "TOKEN"], secs)
step("tool_sets.secrets.retrieve by external_id",
     lambda: client.tool_sets.secrets.retrieve(TS, "external_id:refresh", workspace_id=W))
su = step("tool_sets.secrets.update (spec.value)", lambda: client.tool_sets.secrets.update(
    TS, sec.metadata.id, workspace_id=W, spec={"value": "rotated"}, update_mask="spec.value"))
check("updated secret still write-only", su is not None and su.spec.value is None)
step("tool_sets.secrets.delete", lambda: client.tool_sets.secrets.delete(TS, sec.metadata.id, workspace_id=W))
refused("tool set secret gone", lambda: client.tool_sets.secrets.retrieve(TS, sec.metadata.id, workspace_id=W), 404)

tool = step("tools.create (http)", lambda: client.tool_sets.tools.create(
    TS, workspace_id=W, metadata={"name": "get_contact", "external_id": "get-contact", "labels": lab()},
    spec={"description": "Get a contact", "requires_approval": False,
          "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
          "config": {"type": "http", "http": {"request_method": "GET", "path": "/contacts/{{ id }}",
                                              "headers": {"Accept": "application/json"}}}}))
T = tool.metadata.id if tool else "missing"
check("tool: config tag, state, info", tool is not None and tool.spec.config is not None
      and tool.spec.config.type == "http" and tool.state == "STATE_AVAILABLE"
      and tool.info is not None and tool.info.signature)
tool2 = step("tools.create (second)", lambda: client.tool_sets.tools.create(
    TS, workspace_id=W, metadata={"name": "delete_contact", "external_id": "delete-contact", "labels": lab()},
    spec={"description": "Delete", "requires_approval": True, "parameters": {},
          "config": {"type": "http", "http": {"request_method": "DELETE", "path": "/contacts/{{ id }}"}}}))
step("tools.retrieve by external_id", lambda: client.tool_sets.tools.retrieve(
    "external_id:crm", "external_id:get-contact", workspace_id=W))
tl = step("tools.update leaf spec.config.http.path", lambda: client.tool_sets.tools.update(
    TS, T, workspace_id=W, spec={"config": {"type": "http", "http": {"path": "/v2/contacts/{{ id }}"}}},
    update_mask="spec.config.http.path"))
check("tool leaf mask kept requestMethod and headers", tl is not None
      and tl.spec.config.http.request_method == "GET" and tl.spec.config.http.headers == {"Accept": "application/json"}
      and tl.spec.config.http.path == "/v2/contacts/{{ id }}" and tl.spec.requires_approval is False)
o = step("tools.omit", lambda: client.tool_sets.tools.omit(TS, T, workspace_id=W))
check("tool omitted", o is not None and o.state == "STATE_OMITTED")
om = step("tools.list states=[STATE_OMITTED]", lambda: ids(client.tool_sets.tools.list(
    TS, workspace_id=W, states=["STATE_OMITTED"])))
check("tools state filter", om == [T], om)
both = step("tools.list states=[AVAILABLE, OMITTED] names",
            lambda: ids(client.tool_sets.tools.list(TS, workspace_id=W, labels=SEL,
                        states=["STATE_AVAILABLE", "STATE_OMITTED"], names=["get_contact", "delete_contact"])))
check("tools repeated filters", both is not None and len(both) == 2, both)
ra = step("tools.list requiresApproval", lambda: ids(client.tool_sets.tools.list(TS, workspace_id=W, requires_approval=True)))
check("requiresApproval filter", tool2 is not None and ra == [tool2.metadata.id], ra)
r = step("tools.restore", lambda: client.tool_sets.tools.restore(TS, T, workspace_id=W))
check("tool available again", r is not None and r.state == "STATE_AVAILABLE")
if mcp:
    refused("no individual tools under an mcp tool set", lambda: client.tool_sets.tools.create(
        mcp.metadata.id, workspace_id=W, metadata={"name": "x"},
        spec={"description": "x", "requires_approval": False, "parameters": {},
              "config": {"type": "mcp", "mcp": {}}}), 400)
refused("tool config must match its set's adapter", lambda: client.tool_sets.tools.create(
    TS, workspace_id=W, metadata={"name": "y"},
    spec={"description": "y", "requires_approval": False, "parameters": {}, "config": {"type": "bare", "bare": {}}}),
    400, "spec.config.type")
refused("tool requires requiresApproval", lambda: client.tool_sets.tools.create(
    TS, workspace_id=W, metadata={"name": "z"},
    spec={"description": "z", "parameters": {}, "config": {"type": "http", "http": {"request_method": "GET"}}}),
    400, "spec.requiresApproval")
refused("old spec.status on a tool", lambda: client.tool_sets.tools.create(
    TS, workspace_id=W, metadata={"name": "w"},
    spec={"description": "w", "requires_approval": False, "parameters": {}, "status": "TOOL_STATUS_AVAILABLE",
          "config": {"type": "http", "http": {"request_method": "GET"}}}), 400, "spec.status")
refused("a union without its type tag", lambda: client.tool_sets.create(
    workspace_id=W, metadata={"name": "untagged"}, spec={"adapter": {"http": {"base_url": "https://x"}}}),
    400, "spec.adapter.type")

# ---------------------------------------------------------------- memory

layer = step("memory_layers.create", lambda: client.memory_layers.create(
    workspace_id=W, metadata={"name": "Playbooks", "external_id": "playbooks", "labels": lab()},
    spec={"type": "MEMORY_LAYER_TYPE_SKILLS", "description": "How we work"}))
L = layer.metadata.id if layer else "missing"
check("layer: system fields present", layer is not None and layer.spec.system_managed is False
      and layer.spec.agent_id == "" and layer.spec.episodic_key == "" and layer.info.entry_count == 0)
layer2 = step("memory_layers.create (second)", lambda: client.memory_layers.create(
    workspace_id=W, metadata={"name": "Facts", "external_id": "facts", "labels": lab()},
    spec={"type": "MEMORY_LAYER_TYPE_SKILLS"}))
L2 = layer2.metadata.id if layer2 else "missing"
lu = step("memory_layers.update (mask spec.description)", lambda: client.memory_layers.update(
    L, workspace_id=W, spec={"type": "MEMORY_LAYER_TYPE_SKILLS", "description": "How we work, v2"},
    update_mask="spec.description"))
check("layer description updated", lu is not None and lu.spec.description == "How we work, v2")
step("memory_layers.retrieve by external_id", lambda: client.memory_layers.retrieve("external_id:playbooks", workspace_id=W))
sk = step("memory_layers.list type=SKILLS labels", lambda: ids(client.memory_layers.list(
    workspace_id=W, type="MEMORY_LAYER_TYPE_SKILLS", labels=SEL)))
check("layer list filtered", sk is not None and sorted(sk) == sorted([L, L2]), sk)
status, episodic = raw("POST", f"/_emulator/workspaces/{W}/episodic_layers",
                       {"agentId": "", "episodicKey": "customer-42"}, auth=False)
EPI = (episodic or {}).get("metadata", {}).get("id", "missing")
epi = step("system-managed layer (emulator helper) decodes",
           lambda: client.memory_layers.retrieve(EPI, workspace_id=W))
check("system-managed layer flagged", epi is not None and epi.spec.system_managed is True
      and epi.spec.episodic_key == "customer-42")
refused("system-managed layer cannot be changed", lambda: client.memory_layers.update(
    EPI, workspace_id=W, spec={"type": "MEMORY_LAYER_TYPE_EPISODIC", "description": "x"},
    update_mask="spec.description"), 400)
refused("system-managed layer cannot be deleted", lambda: client.memory_layers.delete(EPI, workspace_id=W), 400)
refused("episodic layers are not created by clients", lambda: client.memory_layers.create(
    workspace_id=W, metadata={"name": "e"}, spec={"type": "MEMORY_LAYER_TYPE_EPISODIC"}), 400, "spec.type")

entry = step("memory_layers.entries.create (content)", lambda: client.memory_layers.entries.create(
    L, workspace_id=W, metadata={"name": "Set up a tool set", "external_id": "setup", "labels": lab()},
    spec={"type": "content", "key": "skills/setup", "content": "# Setup\nStep one.", "description": "When setting up"}))
E = entry.metadata.id if entry else "missing"
check("entry detail: content at the top level", entry is not None and entry.content == "# Setup\nStep one."
      and entry.spec.key == "skills/setup" and entry.spec.description == "When setting up")
got = step("memory_layers.entries.retrieve by external_id",
           lambda: client.memory_layers.entries.retrieve(L, "external_id:setup", workspace_id=W))
check("content round trip", got is not None and got.content == "# Setup\nStep one.")
listed = step("memory_layers.entries.list", lambda: list(client.memory_layers.entries.list(L, workspace_id=W, labels=SEL)))
check("entry list items carry no content", listed is not None and len(listed) == 1
      and not hasattr(listed[0], "content") and listed[0].spec.key == "skills/setup")
eu = step("memory_layers.entries.update (bare mask content)", lambda: client.memory_layers.entries.update(
    L, E, workspace_id=W, metadata={"name": "Set up a tool set", "external_id": "setup", "labels": lab()},
    spec={"content": "# Setup\nStep two."}, update_mask="content"))
check("content updated, key and description kept", eu is not None and eu.content == "# Setup\nStep two."
      and eu.spec.key == "skills/setup" and eu.spec.description == "When setting up")
ek = step("memory_layers.entries.update (key, metadata replaced whole)", lambda: client.memory_layers.entries.update(
    L, E, workspace_id=W, metadata={"name": "Setup"}, spec={"key": "skills/setup-v2"}, update_mask="key"))
check("entry metadata replaced whole, content kept", ek is not None and ek.metadata.name == "Setup"
      and ek.metadata.external_id == "" and ek.metadata.labels == {} and ek.content == "# Setup\nStep two."
      and ek.spec.key == "skills/setup-v2")
pre = step("memory_layers.entries.list prefix", lambda: [e.spec.key for e in client.memory_layers.entries.list(
    L, workspace_id=W, prefix="skills/")])
check("entry prefix filters keys", pre == ["skills/setup-v2"], pre)
refused("entry key rules", lambda: client.memory_layers.entries.create(
    L, workspace_id=W, metadata={"name": "bad"}, spec={"type": "content", "key": "/bad//key", "content": "x"}),
    400, "spec.key")
refused("entry key unique in its layer", lambda: client.memory_layers.entries.create(
    L, workspace_id=W, metadata={"name": "dup"}, spec={"type": "content", "key": "skills/setup-v2", "content": "x"}),
    409)
refused("entry create spec is tagged", lambda: client.memory_layers.entries.create(
    L, workspace_id=W, metadata={"name": "untagged"}, spec={"key": "k", "content": "x"}), 400, "spec.type")

# ---------------------------------------------------------------- agents and variations

refused("agent with the old spec.status", lambda: client.agents.create(
    workspace_id=W, metadata={"name": "old"}, spec={"status": "AGENT_STATUS_DRAFT"}), 400, "spec.status")
refused("agent with the old spec.inputDataSchema", lambda: client.agents.create(
    workspace_id=W, metadata={"name": "old"}, spec={"inputDataSchema": {}}), 400, "spec.inputDataSchema")
refused("metadata.bundleKey is gone", lambda: client.agents.create(
    workspace_id=W, metadata={"name": "old", "bundleKey": "b"}, spec={}), 400, "metadata.bundleKey")
refused("label syntax", lambda: client.agents.create(
    workspace_id=W, metadata={"name": "bad labels", "labels": {"bad key!": "x"}}, spec={}), 400, "metadata.labels")

agent = step("agents.create with defaultVariation (assignments inline)", lambda: client.agents.create(
    workspace_id=W,
    metadata={"name": "Ask", "external_id": "ask", "labels": lab(team="a")},
    spec={"description": "Answers", "system_prompt_data_schema": {"type": "object"},
          "variation_selection_mode": "VARIATION_SELECTION_MODE_WEIGHTED",
          "enable_episodic_memory": True, "episodic_memory_ttl": 3600},
    default_variation={
        "metadata": {"name": "default", "external_id": "default", "labels": lab()},
        "spec": {"system_prompt_template": "You answer {{ topic }}.",
                 "first_user_message_template": "Hi",
                 "model_config": {"model_id": MODEL, "temperature": 0.2, "top_p": 0.9,
                                  "max_output_tokens": 1024},
                 "constraints": {"max_tool_calls": 10, "inactivity_timeout": "7200s"},
                 "compaction_config": {"trigger_threshold": 0.8, "summarization": {"instructions": "Be brief"}},
                 "progressive_discovery": {"max_tools": 5, "hints": ["crm"]},
                 "assignments": [{"type": "toolSetId", "tool_set_id": TS}, {"type": "toolId", "tool_id": T}],
                 "memory_layer_assignments": [{"memory_layer_id": L, "position": 0}]}}))
A = agent.metadata.id if agent else "missing"
check("agent: draft, one variation", agent is not None and agent.state == "STATE_DRAFT"
      and agent.info.variation_count == 1)
variations = step("agents.variations.list (labels)", lambda: list(client.agents.variations.list(A, workspace_id=W, labels=SEL)))
V = variations[0].metadata.id if variations else "missing"
var = variations[0] if variations else None
check("variation: inline assignments decoded with their tags", var is not None
      and [(a.type, getattr(a, "tool_set_id", None) or getattr(a, "tool_id", None)) for a in var.spec.assignments]
      == [("toolSetId", TS), ("toolId", T)])
check("variation: memory stack and info", var is not None
      and [(m.memory_layer_id, m.position) for m in var.spec.memory_layer_assignments] == [(L, 0)]
      and var.info.tool_set_count == 1 and var.info.tool_count == 1 and var.info.memory_layer_count == 1
      and var.info.effective_tool_count == 2 and TS in var.info.assignment_metadata)
step("agents.retrieve by external_id", lambda: client.agents.retrieve("external_id:ask", workspace_id=W))
step("agents.variations.retrieve by external_id",
     lambda: client.agents.variations.retrieve("external_id:ask", "external_id:default", workspace_id=W))
vl = step("variations.update leaf spec.modelConfig.temperature", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={"model_config": {"model_id": MODEL, "temperature": 0.5}},
    update_mask="spec.modelConfig.temperature"))
check("leaf mask kept modelId, topP, maxOutputTokens and the rest", vl is not None
      and vl.spec.model_config.temperature == 0.5 and vl.spec.model_config.model_id == MODEL
      and vl.spec.model_config.top_p == 0.9 and vl.spec.model_config.max_output_tokens == 1024
      and vl.spec.system_prompt_template == "You answer {{ topic }}." and len(vl.spec.assignments) == 2)
vc = step("variations.update masked field absent clears it", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={}, update_mask="spec.modelConfig.topP,spec.firstUserMessageTemplate"))
check("masked absent fields cleared", vc is not None and vc.spec.model_config.top_p is None
      and vc.spec.first_user_message_template is None and vc.spec.model_config.temperature == 0.5)
refused("unknown mask path", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={}, update_mask="spec.weight"), 400, "updateMask")
refused("variation weight is gone", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={"weight": 2}, update_mask="spec.weight"), 400, "spec.weight")
refused("variation prompt is now systemPromptTemplate", lambda: client.agents.variations.create(
    A, workspace_id=W, metadata={"name": "old"}, spec={"prompt": "x"}), 400, "spec.prompt")
refused("model reference key", lambda: client.agents.variations.create(
    A, workspace_id=W, metadata={"name": "bad model"}, spec={"model_config": {"model_id": "openai.gpt-4.1"}}),
    400, "spec.modelConfig.modelId")
refused("modelConfig.modelId required", lambda: client.agents.variations.create(
    A, workspace_id=W, metadata={"name": "no model"}, spec={"model_config": {"temperature": 0.1}}),
    400, "spec.modelConfig.modelId")
refused("duplicate externalId", lambda: client.agents.variations.create(
    A, workspace_id=W, metadata={"name": "again", "external_id": "default"}, spec={}), 409)

aa = step("variations.add_assignment", lambda: client.agents.variations.add_assignment(
    A, V, workspace_id=W, body={"type": "toolId", "tool_id": tool2.metadata.id}))
check("assignment added", aa is not None and len(aa.spec.assignments) == 3 and all(x is not None for x in aa.spec.assignments))
refused("add an assigned target again", lambda: client.agents.variations.add_assignment(
    A, V, workspace_id=W, body={"type": "toolId", "tool_id": tool2.metadata.id}), 409)
ar = step("variations.remove_assignment", lambda: client.agents.variations.remove_assignment(
    A, V, workspace_id=W, body={"type": "toolId", "tool_id": tool2.metadata.id}))
check("assignment removed", ar is not None and len(ar.spec.assignments) == 2)
refused("remove an absent assignment", lambda: client.agents.variations.remove_assignment(
    A, V, workspace_id=W, body={"type": "toolId", "tool_id": tool2.metadata.id}), 404)
ml = step("variations.add_memory_layer (position)", lambda: client.agents.variations.add_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2, position=5))
check("layer stacked", ml is not None and (L2, 5) in [(m.memory_layer_id, m.position) for m in ml.spec.memory_layer_assignments])
refused("layer already stacked", lambda: client.agents.variations.add_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2, position=7), 409)
refused("position collision", lambda: client.agents.variations.update_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2, position=0), 400, "position")
um = step("variations.update_memory_layer", lambda: client.agents.variations.update_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2, position=3))
check("layer moved", um is not None and (L2, 3) in [(m.memory_layer_id, m.position) for m in um.spec.memory_layer_assignments])
rm = step("variations.remove_memory_layer", lambda: client.agents.variations.remove_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2))
check("layer removed", rm is not None and [m.memory_layer_id for m in rm.spec.memory_layer_assignments] == [L])
refused("remove an unassigned layer", lambda: client.agents.variations.remove_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2), 404)
refused("a system-managed layer cannot be assigned", lambda: client.agents.variations.add_memory_layer(
    A, V, workspace_id=W, memory_layer_id=EPI), 400)
auto = step("variations.add_memory_layer (no position: max+1)", lambda: client.agents.variations.add_memory_layer(
    A, V, workspace_id=W, memory_layer_id=L2))
check("omitted position stacks on top", auto is not None and (L2, 1) in [(m.memory_layer_id, m.position) for m in auto.spec.memory_layer_assignments])
inline = step("variations.update spec.memoryLayerAssignments (replace the stack)", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={"memory_layer_assignments": [{"memory_layer_id": L2, "position": 0},
                                                              {"memory_layer_id": L, "position": 1}]},
    update_mask="spec.memoryLayerAssignments"))
check("stack replaced atomically", inline is not None
      and [(m.memory_layer_id, m.position) for m in inline.spec.memory_layer_assignments] == [(L2, 0), (L, 1)]
      and len(inline.spec.assignments) == 2)
refused("inline positions unique", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={"memory_layer_assignments": [{"memory_layer_id": L2, "position": 0},
                                                              {"memory_layer_id": L, "position": 0}]},
    update_mask="spec.memoryLayerAssignments"), 400)
refused("inline assignment of a missing target", lambda: client.agents.variations.update(
    A, V, workspace_id=W, spec={"assignments": [{"type": "toolSetId", "tool_set_id": "ts_missing"}]},
    update_mask="spec.assignments"), 400, "spec.assignments[0].toolSetId")

refused("a draft agent without variations cannot be published", lambda: client.agents.publish(
    client.agents.create(workspace_id=W, metadata={"name": "Empty", "external_id": "empty", "labels": lab()},
                         spec={}).metadata.id, workspace_id=W), 400)
pub = step("agents.publish", lambda: client.agents.publish(A, workspace_id=W))
check("agent published", pub is not None and pub.state == "STATE_PUBLISHED")
refused("the last variation of a published agent stays", lambda: client.agents.variations.delete(A, V, workspace_id=W), 400)
refused("a published agent is unpublished before it is deleted", lambda: client.agents.delete(A, workspace_id=W), 400)
refused("an assigned memory layer cannot be deleted", lambda: client.memory_layers.delete(L, workspace_id=W), 400)
au = step("agents.update (mask spec.description)", lambda: client.agents.update(
    A, workspace_id=W, spec={"description": "Answers questions"}, update_mask="spec.description"))
check("agent update kept the rest and the state", au is not None and au.spec.description == "Answers questions"
      and au.spec.variation_selection_mode == "VARIATION_SELECTION_MODE_WEIGHTED" and au.state == "STATE_PUBLISHED")

v2 = step("agents.variations.create", lambda: client.agents.variations.create(
    A, workspace_id=W, metadata={"name": "b", "external_id": "b", "labels": lab()},
    spec={"system_prompt_template": "B", "model_config": {"model_id": "getting-started-key.anthropic-claude-sonnet-4-6",
                                                          "reasoning_effort": "REASONING_EFFORT_LOW"}}))
check("variation b: empty assignment lists present", v2 is not None and v2.spec.assignments == []
      and v2.spec.memory_layer_assignments == [] and v2.info.model is not None)

# ---------------------------------------------------------------- schedules

sch = step("agents.schedules.create", lambda: client.agents.schedules.create(
    A, workspace_id=W, metadata={"name": "nightly", "external_id": "nightly", "labels": lab()},
    spec={"schedule": {"timezone": "Europe/Paris", "calendars": [{"hour": [{"start": 2}], "minute": [{"start": 0}]}]},
          "first_user_message": "Run the report", "overlap_policy": "OVERLAP_POLICY_SKIP", "variation_id": V,
          "system_prompt_data": {"topic": "sales"}}))
S = sch.metadata.id if sch else "missing"
check("schedule created active", sch is not None and sch.state == "STATE_ACTIVE" and sch.info.total_fires == 0)
p = step("schedules.pause", lambda: client.agents.schedules.pause(A, S, workspace_id=W))
check("schedule paused", p is not None and p.state == "STATE_PAUSED")
rs = step("schedules.resume", lambda: client.agents.schedules.resume(A, S, workspace_id=W))
check("schedule active", rs is not None and rs.state == "STATE_ACTIVE")
su = step("schedules.update (mask spec.firstUserMessage)", lambda: client.agents.schedules.update(
    A, S, workspace_id=W, spec={"first_user_message": "Run it"}, update_mask="spec.firstUserMessage"))
check("schedule update kept the calendar", su is not None and su.spec.first_user_message == "Run it"
      and su.spec.schedule.timezone == "Europe/Paris" and su.state == "STATE_ACTIVE")
step("schedules.retrieve by external_id", lambda: client.agents.schedules.retrieve(
    "external_id:ask", "external_id:nightly", workspace_id=W))
refused("a pinned variation cannot be deleted", lambda: client.agents.variations.delete(A, V, workspace_id=W), 400)
sl = step("schedules.list labels", lambda: ids(client.agents.schedules.list(A, workspace_id=W, labels=SEL)))
check("schedule listed", sl == [S], sl)
refused("schedule needs a time zone", lambda: client.agents.schedules.create(
    A, workspace_id=W, metadata={"name": "tz"}, spec={"schedule": {"intervals": [{"every": "3600s"}]}}),
    400, "spec.schedule.timezone")
refused("schedule initialMessage is now firstUserMessage", lambda: client.agents.schedules.create(
    A, workspace_id=W, metadata={"name": "old"}, spec={"initialMessage": "x", "schedule": {
        "timezone": "UTC", "intervals": [{"every": "3600s"}]}}), 400, "spec.initialMessage")
sa = step("schedules.archive", lambda: client.agents.schedules.archive(A, S, workspace_id=W))
check("schedule archived", sa is not None and sa.state == "STATE_ARCHIVED")
refused("an archived schedule cannot be resumed", lambda: client.agents.schedules.resume(A, S, workspace_id=W), 400)
step("schedules.delete", lambda: client.agents.schedules.delete(A, S, workspace_id=W))
refused("schedule gone", lambda: client.agents.schedules.retrieve(A, S, workspace_id=W), 404)

# ---------------------------------------------------------------- paging and label filters

made = []
for i in range(5):
    a = step(f"agents.create #{i}", lambda i=i: client.agents.create(
        workspace_id=W, metadata={"name": f"bulk {i}", "external_id": f"bulk-{i}",
                                  "labels": lab(team="bulk", parity="even" if i % 2 == 0 else "odd")},
        spec={}))
    if a:
        made.append(a.metadata.id)
sel_bulk = f"{SEL},team=bulk"
first = step("agents.list limit=2 (page 1)", lambda: client.agents.list(workspace_id=W, labels=sel_bulk, limit=2))
pages, walked, page = 0, [], first
while page is not None and pages < 10:
    pages += 1
    walked.extend(ids(page.items))
    page = step(f"agents.list get_next_page #{pages}", page.get_next_page) if page.has_next_page() else None
check("manual paging: 3 pages of 2, 2, 1, in order", pages == 3 and walked == made, (pages, walked))
it = step("agents.list iterate (SDK walks the pages)", lambda: ids(client.agents.list(workspace_id=W, labels=sel_bulk, limit=2)))
check("iteration saw every agent once", it == made, it)
desc = step("agents.list sortOrder=desc", lambda: ids(client.agents.list(workspace_id=W, labels=sel_bulk, sort_order="desc", limit=3)))
check("descending order", desc == list(reversed(made)), desc)
even = step("agents.list labels AND (parity=even)", lambda: ids(client.agents.list(
    workspace_id=W, labels=f"{sel_bulk},parity=even")))
check("AND filter", even == made[0::2], even)
none = step("agents.list labels no match", lambda: ids(client.agents.list(workspace_id=W, labels=f"{SEL},team=nobody")))
check("no match is an empty page", none == [], none)
pre = step("agents.list prefix", lambda: ids(client.agents.list(workspace_id=W, prefix="bulk ")))
check("prefix filter", pre == made, pre)
if first is not None and first.next_cursor:
    st, body = raw("GET", f"/v1/workspaces/{W}/agents?limit=3&labels={sel_bulk}&cursor={first.next_cursor}")
    check("a next page with drifted parameters is refused", st == 400, (st, body))
st, body = raw("GET", f"/v1/workspaces/{W}/agents?limit=101")
check("limit above 100 is refused", st == 400 and body and body.get("code") == 3, (st, body))
st, body = raw("GET", f"/v1/workspaces/{W}/agents?bundleKey=x")
check("an unknown list filter is refused", st == 400, (st, body))

# ---------------------------------------------------------------- workspace secrets

wsec = step("workspace_secrets.create", lambda: client.workspace_secrets.create(
    workspace_id=W, metadata={"name": "API_TOKEN", "external_id": "api-token", "labels": lab()}, spec={"value": "v"}))
check("workspace secret value never echoed", wsec is not None and wsec.spec.value is None)
step("workspace_secrets.retrieve by external_id", lambda: client.workspace_secrets.retrieve("external_id:api-token", workspace_id=W))
wl = step("workspace_secrets.list labels", lambda: ids(client.workspace_secrets.list(workspace_id=W, labels=SEL)))
check("workspace secret listed", wsec is not None and wl == [wsec.metadata.id], wl)
wu = step("workspace_secrets.update (labels and value)", lambda: client.workspace_secrets.update(
    wsec.metadata.id, workspace_id=W, metadata={"name": "API_TOKEN", "labels": lab(**{"twinform.io/value-hmac": "0123456789abcdef0123456789abcdef"})},
    spec={"value": "v2"}, update_mask="metadata.labels,spec.value"))
check("labels replaced, value hidden", wu is not None and wu.metadata.labels.get("twinform.io/value-hmac") and wu.spec.value is None
      and wu.metadata.external_id == "api-token")
step("workspace_secrets.delete", lambda: client.workspace_secrets.delete(wsec.metadata.id, workspace_id=W))
refused("workspace secret gone", lambda: client.workspace_secrets.retrieve(wsec.metadata.id, workspace_id=W), 404)

# ---------------------------------------------------------------- deletes and cascades

step("tools.delete (an assigned tool may go)", lambda: client.tool_sets.tools.delete(TS, T, workspace_id=W))
refused("tool gone", lambda: client.tool_sets.tools.retrieve(TS, T, workspace_id=W), 404)
after = step("variation after the tool's delete", lambda: client.agents.variations.retrieve(A, V, workspace_id=W))
check("the deleted tool dropped out of the assignments", after is not None
      and [x.type for x in after.spec.assignments] == ["toolSetId"])
step("variations.delete (not the last)", lambda: client.agents.variations.delete(A, v2.metadata.id, workspace_id=W))
refused("variation gone", lambda: client.agents.variations.retrieve(A, v2.metadata.id, workspace_id=W), 404)
un = step("agents.unpublish by external_id (encoded id, then :verb)",
          lambda: client.agents.unpublish("external_id:ask", workspace_id=W))
check("agent draft", un is not None and un.state == "STATE_DRAFT")
ar = step("agents.archive", lambda: client.agents.archive(A, workspace_id=W))
check("agent archived", ar is not None and ar.state == "STATE_ARCHIVED")
dl = step("agents.list default", lambda: ids(client.agents.list(workspace_id=W, labels=SEL)))
check("default list hides archived agents", dl is not None and A not in dl)
al = step("agents.list state=STATE_ARCHIVED", lambda: ids(client.agents.list(workspace_id=W, labels=SEL, state="STATE_ARCHIVED")))
check("archived agents listed on request", al == [A], al)
refused("an archived agent is not published", lambda: client.agents.publish(A, workspace_id=W), 400)
ua = step("agents.unarchive", lambda: client.agents.unarchive(A, workspace_id=W))
check("unarchived to draft", ua is not None and ua.state == "STATE_DRAFT")
step("agents.delete", lambda: client.agents.delete(A, workspace_id=W))
refused("agent gone", lambda: client.agents.retrieve(A, workspace_id=W), 404)
refused("its variations went with it", lambda: client.agents.variations.retrieve(A, V, workspace_id=W), 404)
step("memory_layers.entries.delete", lambda: client.memory_layers.entries.delete(L, E, workspace_id=W))
refused("entry gone", lambda: client.memory_layers.entries.retrieve(L, E, workspace_id=W), 404)
step("memory_layers.delete (no longer assigned)", lambda: client.memory_layers.delete(L, workspace_id=W))
refused("layer gone", lambda: client.memory_layers.retrieve(L, workspace_id=W), 404)
step("tool_sets.delete", lambda: client.tool_sets.delete(TS, workspace_id=W))
refused("tool set gone", lambda: client.tool_sets.retrieve(TS, workspace_id=W), 404)
refused("its tools went with it", lambda: client.tool_sets.tools.retrieve(TS, tool2.metadata.id, workspace_id=W), 404)
refused("a delete of what is gone is 404", lambda: client.tool_sets.delete(TS, workspace_id=W), 404)
st, body = raw("GET", f"/v1/workspaces/{W}/agents", auth=False)
check("no API key: 401", st == 401 and body and body.get("code") == 16, (st, body))
step("workspace_admin.archive", lambda: client.workspace_admin.archive(workspace_id=W))

print(f"\n{passed} passed, {len(failed)} failed")
if failed:
    print("failed: " + ", ".join(failed))
sys.exit(1 if failed else 0)
