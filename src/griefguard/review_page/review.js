// griefguard's review page: the queue, the reasons, the decisions and the threshold.
// Every reply is untrusted text: it is only ever put into the page as text nodes, never parsed as HTML.
"use strict";

(() => {
  const PAGE = 50; // replies rendered at a time; more as the moderator moves down
  const LOW_COVERAGE = 0.5;
  const state = {
    items: [],
    byId: new Map(),
    labels: [],
    threshold: 0.5,
    filtered: [],
    shown: 0,
    current: -1,
    selected: new Set(),
    undo: [],
    explained: new Map(),
    asked: new Set(),
    fitTimer: null,
    busy: false,
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...(options || {}) });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = { error: `HTTP ${response.status}` };
    }
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  function status(message, isError) {
    const node = $("status");
    node.textContent = message;
    node.className = isError ? "error" : "";
  }

  const fmt = (x, digits) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);

  function flaggedAt(item, threshold) {
    // As the model flags: the score reaches the threshold, and there is evidence (known words, or a parent).
    return item.score >= threshold && (item.coverage > 0 || item.parent_label !== null);
  }

  // -- the queue ------------------------------------------------------------------------------------------
  function orderKey(item, order) {
    if (order === "file") return [item.id];
    if (order === "random") {
      // A fixed shuffle (the same on every reload): a sample whose decisions measure recall without bias.
      let h = (item.id + 1) * 2654435761;
      h = Math.imul(h ^ (h >>> 15), 2246822519);
      h = Math.imul(h ^ (h >>> 13), 3266489917);
      return [(h ^ (h >>> 16)) >>> 0, item.id];
    }
    return [-item.score, item.id];
  }

  function compare(a, b) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  }

  function applyFilters() {
    const label = $("f-label").value;
    const flag = $("f-flag").value;
    const coverage = $("f-coverage").value;
    const file = $("f-file").value;
    const decision = $("f-decision").value;
    const order = $("f-order").value;
    state.filtered = state.items
      .filter((item) => !label || item.label === label)
      .filter((item) => !flag || flaggedAt(item, state.threshold) === (flag === "yes"))
      .filter((item) => !coverage || item.coverage < LOW_COVERAGE)
      .filter((item) => !file || item.file === file)
      .filter((item) => !decision || (item.decision !== null) === (decision === "made"))
      .map((item) => [orderKey(item, order), item])
      .sort((a, b) => compare(a[0], b[0]))
      .map(([, item]) => item);
    $("queue").replaceChildren();
    state.shown = 0;
    state.current = -1;
    renderMore();
    if (state.filtered.length) select(0);
    $("shown").textContent = `${state.filtered.length} of ${state.items.length} replies shown`;
  }

  function renderMore() {
    const start = state.shown;
    const end = Math.min(state.filtered.length, start + PAGE);
    const queue = $("queue");
    for (let i = start; i < end; i++) queue.append(card(state.filtered[i]));
    state.shown = end;
    $("more").hidden = end >= state.filtered.length;
    explainShown(state.filtered.slice(start, end));
  }

  function card(item) {
    const box = el("input", { type: "checkbox", "aria-label": "select this reply" });
    box.checked = state.selected.has(item.id);
    box.addEventListener("change", () => toggleSelected(item.id, box.checked));
    const meta = el(
      "div",
      { class: "meta" },
      box,
      el("span", { class: "score", title: "probability that the reply is critical" }, fmt(item.score, 3)),
      el("span", { class: `label label-${item.label}` }, item.label),
      el("span", { class: "flag" }),
      el("span", { class: item.coverage < LOW_COVERAGE ? "coverage low" : "coverage" }, `known words ${pct(item.coverage)}`),
      el("span", { class: "where" }, `${item.file}:${item.line}`),
      item.parent_label
        ? el("span", { class: "thread" }, `read under a ${item.parent_label} comment (alone ${fmt(item.score_alone, 3)})`)
        : null,
    );
    const node = el("article", { class: "item", id: `item-${item.id}`, "data-id": String(item.id), tabIndex: -1 }, meta);
    if (item.post) node.append(el("details", { class: "post" }, el("summary", {}, "Post"), el("p", {}, item.post)));
    if (item.parent) node.append(el("blockquote", { class: "parent" }, el("span", { class: "said" }, "Replying to: "), item.parent));
    node.append(el("p", { class: "text" }, item.text));
    node.append(el("div", { class: "terms" }));
    const actions = el("div", { class: "actions" });
    for (const label of state.labels) {
      const button = el("button", { type: "button", class: `decide decide-${label}`, "data-label": label }, label);
      button.addEventListener("click", () => {
        select(state.filtered.indexOf(item));
        decide([item.id], label, false);
      });
      actions.append(button);
    }
    actions.append(el("span", { class: "decision", "aria-live": "polite" }));
    node.append(actions);
    node.addEventListener("click", (event) => {
      if (event.target.closest("button, input, summary")) return;
      select(state.filtered.indexOf(item));
    });
    update(node, item);
    const explained = state.explained.get(item.id);
    if (explained) showExplanation(node, item, explained);
    return node;
  }

  function update(node, item) {
    const flagged = flaggedAt(item, state.threshold);
    node.classList.toggle("flagged", flagged);
    node.querySelector(".flag").textContent = flagged ? "flagged" : "";
    node.dataset.decision = item.decision || "";
    node.querySelector(".decision").textContent = item.decision ? `decided: ${item.decision} ✓ saved` : "";
    for (const button of node.querySelectorAll("button.decide")) {
      button.setAttribute("aria-pressed", String(button.dataset.label === item.decision));
    }
  }

  function updateItem(item) {
    const node = document.getElementById(`item-${item.id}`);
    if (node) update(node, item);
  }

  // -- explanations -------------------------------------------------------------------------------------------
  async function explainShown(items) {
    const wanted = items.map((i) => i.id).filter((id) => !state.explained.has(id) && !state.asked.has(id));
    for (let i = 0; i < wanted.length; i += 100) {
      const ids = wanted.slice(i, i + 100);
      ids.forEach((id) => state.asked.add(id));
      try {
        const body = await api(`api/explain?ids=${ids.join(",")}`);
        for (const e of body.explanations) {
          state.explained.set(e.id, e);
          const node = document.getElementById(`item-${e.id}`);
          if (node) showExplanation(node, state.byId.get(e.id), e);
        }
      } catch (error) {
        ids.forEach((id) => state.asked.delete(id));
        status(`Could not load the reasons: ${error.message}`, true);
      }
    }
  }

  function showExplanation(node, item, e) {
    const text = node.querySelector(".text");
    const parts = [];
    let at = 0;
    for (const span of e.spans) {
      if (span.start < at) continue;
      parts.push(item.text.slice(at, span.start));
      const sign = span.weight > 0 ? "+" : "";
      parts.push(el("mark", { class: span.kind, title: `${span.term}: ${sign}${span.weight}` }, item.text.slice(span.start, span.end)));
      at = span.end;
    }
    parts.push(item.text.slice(at));
    text.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
    const terms = node.querySelector(".terms");
    const chips = [];
    for (const [term, weight] of e.reasons) chips.push(el("span", { class: "chip raise" }, `${term} +${weight}`));
    for (const [term, weight] of e.against) chips.push(el("span", { class: "chip lower" }, `${term} ${weight}`));
    if (e.parent_effect !== null && e.parent_effect !== undefined) {
      const sign = e.parent_effect > 0 ? "+" : "";
      chips.push(el("span", { class: "chip parent" }, `the comment it answers: ${sign}${e.parent_effect} in log-odds`));
    }
    terms.replaceChildren(...chips);
  }

  // -- moving and deciding ------------------------------------------------------------------------------------
  function select(index) {
    if (index < 0 || index >= state.filtered.length) return;
    while (index >= state.shown) renderMore();
    const previous = document.querySelector("article.current");
    if (previous) previous.classList.remove("current");
    state.current = index;
    const node = document.getElementById(`item-${state.filtered[index].id}`);
    node.classList.add("current");
    node.scrollIntoView({ block: "nearest" });
  }

  async function decide(ids, label, advance) {
    if (!ids.length) return false;
    if (state.busy) {
      status("Still saving the previous decision…", true);
      return false;
    }
    const before = ids.map((id) => [id, state.byId.get(id).decision]);
    state.busy = true;
    status("Saving…");
    try {
      const body = await api("api/decide", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ids, label }),
      });
      applyDecided(body.decided);
      state.undo.push(before);
      const what = label === null ? "decision taken back" : `marked ${label}`;
      status(`Saved: ${ids.length === 1 ? "reply" : `${ids.length} replies`} ${what} · ${body.decisions} decisions in the file`);
      if (advance) select(state.current + 1);
      scheduleFit();
      return true;
    } catch (error) {
      status(`Not saved: ${error.message}`, true);
      return false;
    } finally {
      state.busy = false;
    }
  }

  function applyDecided(decided) {
    for (const [id, label] of Object.entries(decided)) {
      const item = state.byId.get(Number(id));
      item.decision = label;
      updateItem(item);
    }
  }

  async function undo() {
    const last = state.undo.pop();
    if (!last) {
      status("Nothing to undo");
      return;
    }
    if (state.busy) {
      state.undo.push(last);
      status("Still saving the previous decision…", true);
      return;
    }
    state.busy = true;
    status("Undoing…");
    try {
      const groups = new Map();
      for (const [id, label] of last) groups.set(label, [...(groups.get(label) || []), id]);
      for (const [label, ids] of groups) {
        const body = await api("api/decide", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ids, label }),
        });
        applyDecided(body.decided);
      }
      const index = state.filtered.findIndex((item) => item.id === last[0][0]);
      if (index >= 0) select(index);
      status("Undone and saved");
      scheduleFit();
    } catch (error) {
      state.undo.push(last);
      status(`Undo not saved: ${error.message}`, true);
    } finally {
      state.busy = false;
    }
  }

  function toggleSelected(id, on) {
    if (on) state.selected.add(id);
    else state.selected.delete(id);
    const node = document.getElementById(`item-${id}`);
    if (node) node.querySelector("input[type=checkbox]").checked = on;
    $("bulk").hidden = state.selected.size === 0;
    $("bulk-count").textContent = `${state.selected.size} selected`;
  }

  function clearSelection() {
    for (const id of [...state.selected]) toggleSelected(id, false);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea, button")) return;
    const item = state.filtered[state.current];
    const labels = { c: "critical", s: "supportive", n: "neutral" };
    if (event.key === "j") select(state.current + 1);
    else if (event.key === "k") select(state.current - 1);
    else if (event.key === "u") undo();
    else if (event.key === "x" && item) toggleSelected(item.id, !state.selected.has(item.id));
    else if (labels[event.key] && item && state.labels.includes(labels[event.key])) decide([item.id], labels[event.key], true);
    else return;
    event.preventDefault();
  }

  // -- the threshold ------------------------------------------------------------------------------------------
  function setThreshold(value, fromInput) {
    const t = Math.min(1, Math.max(0, Number(value)));
    if (Number.isNaN(t)) return;
    state.threshold = t;
    if (fromInput !== "range") $("threshold").value = String(t);
    if (fromInput !== "number") $("threshold-value").value = t.toFixed(4);
    const n = state.items.filter((item) => flaggedAt(item, t)).length;
    const share = state.items.length ? n / state.items.length : 0;
    $("would-flag").textContent = `flags ${n} of ${state.items.length} replies (${pct(share)})`;
    if ($("f-flag").value) applyFilters();
    else for (const item of state.filtered.slice(0, state.shown)) updateItem(item);
    scheduleFit();
  }

  function scheduleFit() {
    clearTimeout(state.fitTimer);
    state.fitTimer = setTimeout(refreshFit, 150);
  }

  async function refreshFit() {
    const target = Number($("target").value) || 0.9;
    let fit;
    try {
      fit = await api(`api/fit?threshold=${state.threshold}&target=${target}`);
    } catch (error) {
      status(`Could not measure the threshold: ${error.message}`, true);
      return;
    }
    const at = fit.at_threshold;
    $("fit-at").textContent = fit.decisions
      ? `From ${fit.decisions} decisions (${fit.critical} critical): at threshold ${fmt(at.threshold, 3)}, ` +
        `precision ${fmt(at.precision, 3)}, recall ${fmt(at.recall, 3)}, flags ${pct(at.flagged)} of the decided replies.`
      : "No decisions yet: mark replies critical, supportive or neutral to measure griefguard on your community.";
    const best = fit.reaching_target;
    const copy = $("copy-threshold");
    const use = $("use-threshold");
    if (best) {
      $("fit-target").textContent =
        `lowest threshold reaching it: ${fmt(best.threshold, 4)} (precision ${fmt(best.precision, 3)}, ` +
        `recall ${fmt(best.recall, 3)}; from ${fit.decisions} decisions, ${fit.critical} critical)`;
      $("cli-threshold").value = `--threshold ${fmt(best.threshold, 4)}`;
    } else {
      $("fit-target").textContent = fit.decisions
        ? `no threshold reaches it on these ${fit.decisions} decisions`
        : "";
      $("cli-threshold").value = "";
    }
    copy.disabled = use.disabled = !best;
    use.dataset.threshold = best ? String(best.threshold) : "";
  }

  async function copyThreshold() {
    const field = $("cli-threshold");
    try {
      await navigator.clipboard.writeText(field.value);
      status(`Copied: ${field.value}`);
    } catch (_) {
      field.select(); // no clipboard access (a page not on 127.0.0.1 over plain HTTP): select it to copy by hand
      status("Press Ctrl-C to copy the selected option");
    }
  }

  // -- start ----------------------------------------------------------------------------------------------------
  function options(select, values) {
    for (const value of values) select.append(el("option", { value }, value));
  }

  async function start() {
    let queue;
    try {
      queue = await api("api/queue");
    } catch (error) {
      $("about").textContent = `Could not load the queue: ${error.message}`;
      return;
    }
    state.items = queue.items;
    state.labels = queue.labels;
    for (const item of state.items) state.byId.set(item.id, item);
    $("about").textContent =
      `${queue.items.length} replies from ${queue.files.join(", ")} · model ${queue.model} ` +
      `(its threshold ${fmt(queue.model_threshold, 4)}) · decisions saved to ${queue.decisions_file}`;
    options($("f-label"), queue.labels);
    options($("f-file"), queue.files.length > 1 ? [...new Set(queue.items.map((i) => i.file))] : []);
    $("f-file").closest("label").hidden = queue.files.length < 2;
    for (const id of ["f-label", "f-flag", "f-coverage", "f-file", "f-decision", "f-order"]) {
      $(id).addEventListener("change", applyFilters);
    }
    $("threshold").addEventListener("input", (e) => setThreshold(e.target.value, "range"));
    $("threshold-value").addEventListener("change", (e) => setThreshold(e.target.value, "number"));
    $("target").addEventListener("change", scheduleFit);
    $("copy-threshold").addEventListener("click", copyThreshold);
    $("use-threshold").addEventListener("click", (e) => setThreshold(e.target.dataset.threshold));
    $("more").addEventListener("click", renderMore);
    $("bulk-clear").addEventListener("click", clearSelection);
    for (const button of document.querySelectorAll("[data-bulk]")) {
      button.addEventListener("click", async () => {
        if (await decide([...state.selected], button.dataset.bulk, false)) clearSelection();
      });
    }
    document.addEventListener("keydown", onKey);
    setThreshold(queue.threshold);
    applyFilters();
    await refreshFit();
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
