// The page of `equirec serve`: plain JavaScript over the service's own endpoints.
// Every value from the service is put in the page as text (textContent), never as HTML.
"use strict";

(() => {
  const HISTORY_SHOWN = 20; // items of a history shown (and looked up, for typed ids)
  const SUGGESTIONS = 50; // user ids offered while typing

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
  const form = $("#ask");
  const status = $("#status");
  const userInput = $("#user");
  const historyInput = $("#history");
  const kInput = $("#k");
  const policySelect = $("#policy");
  const button = $("#go");
  let latest = 0; // the newest request; older answers are dropped
  let shown = false; // a result is on the page (a policy change then re-runs it)

  async function api(path, body) {
    const init =
      body === undefined
        ? { headers: { accept: "application/json" } }
        : {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json" },
            body: JSON.stringify(body),
          };
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      throw new Error(explain(data) || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function explain(data) {
    if (!data) return "";
    if (typeof data.message === "string") return data.message;
    if (typeof data.detail === "string") return data.detail;
    return JSON.stringify(data.detail ?? data);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text, error = false) {
    status.textContent = text;
    status.classList.toggle("error", error);
  }

  // -- the run: metrics and the audit's headline ------------------------------------------
  function number(value) {
    if (value === null || value === undefined) return "–";
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude < 0.001 || magnitude >= 1e6)) return value.toExponential(2);
    return value.toLocaleString("en", { maximumSignificantDigits: 4 });
  }

  function showRun(info) {
    const tiles = $("#run-metrics");
    tiles.replaceChildren();
    const dataset = info.dataset && info.dataset.name ? String(info.dataset.name) : "dataset";
    const split = info.split && info.split.method ? String(info.split.method) : "";
    const first = element("div", "tile");
    first.append(
      element("div", "tile-v", dataset),
      element("div", "tile-k", split ? `dataset, ${split} split` : "dataset"),
    );
    tiles.append(first);
    for (const [name, value] of Object.entries(info.metrics || {}).slice(0, 7)) {
      const tile = element("div", "tile");
      tile.append(element("div", "tile-v", number(value)), element("div", "tile-k", name));
      tiles.append(tile);
    }
    const audit = $("#run-audit");
    audit.replaceChildren();
    if (!info.audit) {
      audit.append(
        element("p", "muted small", "This run has no audit: `equirec audit RUN_DIR` adds one."),
      );
      return;
    }
    const count = info.audit.significant;
    audit.append(
      element(
        "p",
        "small",
        `Fairness audit: ${count} significant finding${count === 1 ? "" : "s"}. Headline:`,
      ),
    );
    const list = element("ul", "findings");
    for (const finding of info.audit.findings) {
      const item = element("li", finding.significant ? "sig" : "ns");
      const marker = element("span", `marker ${finding.significant ? "sig" : "ns"}`);
      marker.textContent = finding.significant ? "●" : "○";
      marker.title = finding.significant ? "significant" : "not significant";
      item.append(marker, element("span", "", finding.text));
      list.append(item);
    }
    audit.append(list);
  }

  // -- user suggestions ---------------------------------------------------------------------
  let suggestTimer = 0;
  let suggestion = 0;

  async function suggest() {
    const query = userInput.value.trim();
    const ticket = ++suggestion;
    const path = `users?limit=${SUGGESTIONS}${query ? `&q=${encodeURIComponent(query)}` : ""}`;
    try {
      const answer = await api(path);
      if (ticket !== suggestion) return;
      const options = $("#user-options");
      options.replaceChildren(...answer.users.map((user) => new Option("", String(user))));
      const more = answer.total > answer.users.length ? `, ${answer.users.length} offered` : "";
      $("#user-hint").textContent = query
        ? `${answer.total.toLocaleString("en")} matching${more}`
        : `${answer.total.toLocaleString("en")} users known${more}`;
    } catch (err) {
      $("#user-hint").textContent = `suggestions unavailable: ${err.message}`;
    }
  }

  // -- the lists ------------------------------------------------------------------------------
  function label(entry) {
    return entry.title ?? String(entry.item);
  }

  function fill(section, entries, marks = new Map(), note = "") {
    const list = $("ol.items", section);
    list.replaceChildren();
    for (const entry of entries) {
      const item = element("li");
      item.dataset.item = String(entry.item);
      item.append(element("span", "item-title", label(entry)));
      if (entry.title !== null && entry.title !== undefined) {
        item.append(element("span", "item-id", String(entry.item)));
      }
      const mark = marks.get(String(entry.item));
      if (mark) {
        item.classList.add(mark);
        item.append(element("span", `mark ${mark}`, mark === "new" ? "new" : "dropped"));
      }
      list.append(item);
    }
    setNote(section, note);
  }

  function setNote(section, text, error = false) {
    const note = $(".note", section);
    note.textContent = text;
    note.classList.toggle("error", error);
  }

  function clear(section, text, error = false) {
    $("ol.items", section).replaceChildren();
    setNote(section, text, error);
  }

  function notes(answer) {
    return (answer.notes || []).join(" ");
  }

  function policy() {
    const method = policySelect.value;
    if (!method || policySelect.disabled) return null;
    const params = {};
    for (const input of $$(`.params[data-policy="${method}"] input[data-param]`)) {
      const raw = input.value.trim();
      if (raw === "") continue;
      const value = input.dataset.kind === "number" ? Number(raw) : raw;
      params[input.dataset.param] = Number.isNaN(value) ? raw : value;
    }
    return { method, params };
  }

  function describe(chosen) {
    const params = Object.entries(chosen.params).map(([k, v]) => `${k}=${v}`);
    return params.length ? `${chosen.method} (${params.join(", ")})` : chosen.method;
  }

  function compare(plain, reranked) {
    const inPlain = new Set(plain.items.map((e) => String(e.item)));
    const inPolicy = new Set(reranked.items.map((e) => String(e.item)));
    const gone = new Map([...inPlain].filter((i) => !inPolicy.has(i)).map((i) => [i, "gone"]));
    const fresh = new Map([...inPolicy].filter((i) => !inPlain.has(i)).map((i) => [i, "new"]));
    return [gone, fresh];
  }

  async function run(event) {
    if (event) event.preventDefault();
    const k = Number(kInput.value);
    if (!Number.isInteger(k) || k < 1 || k > Number(kInput.max)) {
      say(`The list length must be a whole number from 1 to ${kInput.max}.`, true);
      return;
    }
    const mode = form.elements.mode.value;
    const chosen = mode === "user" ? policy() : null;
    const ticket = ++latest;
    const sections = { history: $("#history-list"), plain: $("#plain"), policy: $("#policy-list") };
    button.disabled = true;
    document.body.dataset.state = "busy";
    say("Ranking…");
    try {
      let history;
      let plain;
      let reranked = null;
      let policyError = null;
      if (mode === "user") {
        const user = userInput.value.trim();
        if (!user) throw new Error("Type or pick a user id first.");
        const asked = [
          api(`users/${encodeURIComponent(user)}/history?limit=${HISTORY_SHOWN}`),
          api("recommend", { user, k, policy: null }), // the model's list, whatever the service's policy
        ];
        if (chosen) asked.push(api("recommend", { user, k, policy: chosen }));
        const [h, p, r] = await Promise.allSettled(asked);
        if (p.status === "rejected") throw p.reason;
        if (h.status === "rejected") throw h.reason;
        history = h.value;
        plain = p.value;
        if (r && r.status === "fulfilled") reranked = r.value;
        if (r && r.status === "rejected") policyError = r.reason;
      } else {
        const items = historyInput.value.split(/[\s,]+/).filter(Boolean);
        plain = await api("recommend", { history: items, k, policy: null });
        const recent = [...new Set(items.slice().reverse())].slice(0, HISTORY_SHOWN);
        const looked = await Promise.all(
          recent.map((id) =>
            api(`items/${encodeURIComponent(id)}`).catch(() => ({ item: id, title: null })),
          ),
        );
        history = { total: items.length, items: looked };
      }
      if (ticket !== latest) return;
      const [gone, fresh] = reranked ? compare(plain, reranked) : [new Map(), new Map()];
      const more = history.total > history.items.length;
      fill(
        sections.history,
        history.items,
        new Map(),
        history.total === 0
          ? "No known history: the model ranks this user without one."
          : `${history.total} item${history.total === 1 ? "" : "s"}${more ? `, the latest ${history.items.length} shown` : ""}.`,
      );
      fill(sections.plain, plain.items, gone, notes(plain) || `Top ${plain.items.length}.`);
      const name = $("#policy-name");
      name.textContent = chosen ? describe(chosen) : "no re-ranker chosen";
      name.title = name.textContent;
      if (reranked) {
        const changed = gone.size
          ? `${gone.size} item${gone.size === 1 ? "" : "s"} swapped in.`
          : "Same items as the model’s list.";
        fill(sections.policy, reranked.items, fresh, `${changed} ${notes(reranked)}`.trim());
      } else if (policyError) {
        clear(sections.policy, policyError.message, true);
      } else {
        clear(
          sections.policy,
          mode === "user"
            ? "Choose a re-ranker to see the list it makes."
            : "A policy re-ranks the lists of users the run knows; pick one to compare.",
        );
      }
      shown = true;
      say(
        policyError
          ? "The policy could not re-rank this list (see its column)."
          : `Top ${plain.items.length}${reranked ? `, and under ${chosen.method}` : ""}.`,
        Boolean(policyError),
      );
      document.body.dataset.state = "done";
    } catch (err) {
      if (ticket !== latest) return;
      for (const section of Object.values(sections)) clear(section, "");
      $("#policy-name").textContent = "no re-ranker chosen";
      shown = false;
      say(err.message, true);
      document.body.dataset.state = "error";
    } finally {
      if (ticket === latest) button.disabled = false;
    }
  }

  // -- the form -------------------------------------------------------------------------------
  function showParams() {
    for (const block of $$(".params")) {
      block.hidden = policySelect.disabled || block.dataset.policy !== policySelect.value;
    }
  }

  function showMode() {
    const byUser = form.elements.mode.value === "user";
    $("#user-field").hidden = !byUser;
    $("#history-field").hidden = byUser;
    policySelect.disabled = !byUser;
    showParams();
  }

  form.addEventListener("submit", run);
  for (const radio of $$('input[name="mode"]')) radio.addEventListener("change", showMode);
  policySelect.addEventListener("change", () => {
    showParams();
    if (shown) run();
  });
  userInput.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(suggest, 250);
  });
  showMode();
  suggest();
  api("run")
    .then(showRun)
    .catch((err) => {
      $("#run-audit").replaceChildren(element("p", "muted small", `The run: ${err.message}`));
    });
  document.body.dataset.state = "ready";
})();
