/* apflow console. Builds every element with h() and sets text with textContent, so task
 * names, inputs and results (untrusted text) are never parsed as HTML. */
(function () {
  "use strict";
  const STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled", "skipped"];
  const TERMINAL = new Set(["completed", "failed", "cancelled", "skipped"]);
  const main = document.getElementById("main");
  let view = null; // {abort: AbortController} of the page shown

  // -- helpers ------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c != null && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  /* Replace an element's children; arrays are flattened, null and false left out. */
  function fill(parent, ...children) {
    parent.replaceChildren(...children.flat(2).filter((c) => c != null && c !== false));
    return parent;
  }
  const badge = (status) => h("span", { class: "badge st-" + status }, status.replace("_", " "));
  const json = (v) => JSON.stringify(v, null, 2);
  const when = (iso) => (iso ? new Date(iso + (iso.endsWith("Z") ? "" : "Z")).toLocaleString() : "");

  function token() { return sessionStorage.getItem("apflow-token"); }

  class HttpError extends Error {
    constructor(status, body) { super(body.error || "HTTP " + status); this.status = status; this.body = body; }
  }

  async function api(path, options) {
    options = options || {};
    const headers = Object.assign({}, options.headers || {});
    if (token()) headers.authorization = "Bearer " + token();
    let body = options.body;
    if (options.json !== undefined) { headers["content-type"] = "application/json"; body = JSON.stringify(options.json); }
    const resp = await fetch(path, { method: options.method || (body ? "POST" : "GET"), headers, body, signal: options.signal });
    if (resp.status === 401) { askToken(); throw new HttpError(401, { error: "a token is needed" }); }
    if (!resp.ok) {
      let data = {};
      try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
      throw new HttpError(resp.status, data);
    }
    return options.raw ? resp : resp.json();
  }

  /* Read a streamed response line by line (NDJSON) or event by event (SSE). */
  async function readStream(resp, onChunk, separator) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let at;
      while ((at = buffer.indexOf(separator)) >= 0) {
        const chunk = buffer.slice(0, at);
        buffer = buffer.slice(at + separator.length);
        if (chunk.trim()) onChunk(chunk);
      }
    }
  }

  /* Server-sent events over fetch (so the token travels in a header); reconnects. */
  function events(path, onEvent, signal, onState) {
    (async () => {
      while (!signal.aborted) {
        try {
          const resp = await api(path, { raw: true, signal, headers: { accept: "text/event-stream" } });
          onState(true);
          await readStream(resp, (block) => {
            let name = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (data) onEvent(name, JSON.parse(data));
          }, "\n\n");
        } catch (e) {
          if (signal.aborted || (e instanceof HttpError && e.status < 500)) return;
        }
        onState(false);
        await new Promise((r) => setTimeout(r, 1500));
      }
    })();
  }

  function showError(where, err) {
    const body = (err && err.body) || { error: String(err && err.message ? err.message : err) };
    fill(where, 
      h("p", { class: "error" }, body.error || "failed"),
      body.hint ? h("p", { class: "hint" }, body.hint) : null,
      body.issues && body.issues.length ? issuesTable(body.issues) : null,
    );
  }

  function issuesTable(issues) {
    return h("table", { class: "issues" },
      h("tr", {}, h("th", {}, "code"), h("th", {}, "task"), h("th", {}, "problem"), h("th", {}, "hint")),
      issues.map((i) => h("tr", {}, h("td", {}, h("code", {}, i.code)), h("td", {}, i.task_id || ""), h("td", {}, i.message), h("td", { class: "hint" }, i.hint || ""))));
  }

  function askToken() {
    const dialog = document.getElementById("login");
    if (!dialog.open) dialog.showModal();
  }
  document.getElementById("login-form").addEventListener("submit", () => {
    sessionStorage.setItem("apflow-token", document.getElementById("login-token").value);
    route();
  });

  /* Tree tasks (stored rows or a generated spec) as graph nodes. */
  function storedNodes(tasks) {
    return tasks.map((t) => ({ id: t.id, spec_id: t.spec_id, name: t.name, executor: t.executor, status: t.status, error: t.error, deps: t.dependencies || [] }));
  }
  function specNodes(tasks) {
    return tasks.map((t) => ({
      id: t.id, spec_id: t.id, name: t.name || (t.schemas && t.schemas.method) || t.id,
      executor: (t.schemas && t.schemas.method) || "", status: "new",
      deps: (t.dependencies || []).map((d) => (typeof d === "string" ? { id: d, required: true } : d)),
    }));
  }

  // -- Describe -----------------------------------------------------------------------
  function describePage(ctx) {
    const requirement = h("textarea", { id: "requirement", placeholder: "fetch https://example.com/a and https://example.com/b in parallel, then merge the results" });
    const mode = h("select", { id: "mode" }, h("option", { value: "single_shot" }, "single-shot"), h("option", { value: "multi_phase" }, "multi-phase"));
    const model = h("input", { id: "model", placeholder: (ctx.info && ctx.info.model) || "APFLOW_MODEL", size: 28 });
    const allow = h("input", { id: "executors", placeholder: "all registered", size: 36 });
    const go = h("button", { id: "generate", type: "submit" }, "Generate");
    const phases = h("ol", { class: "phases", id: "phases" });
    const outcome = h("div", { id: "outcome" });
    const form = h("form", { class: "card", onsubmit: (ev) => { ev.preventDefault(); generate(); } },
      h("label", { class: "block" }, "Describe the workflow", requirement),
      h("div", { class: "row" }, h("label", {}, "mode", mode), h("label", {}, "model", model), h("label", {}, "executor allow-list (comma-separated)", allow), go));
    fill(main, h("h1", {}, "Describe a workflow"), form, phases, outcome);
    requirement.focus();

    async function generate() {
      go.disabled = true;
      fill(phases);
      fill(outcome, h("p", { class: "muted" }, "generating…"));
      const list = allow.value.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        const resp = await api("/api/generate", { raw: true, signal: ctx.signal, json: { requirement: requirement.value, mode: mode.value, model: model.value || null, executors: list.length ? list : null } });
        await readStream(resp, (line) => {
          const ev = JSON.parse(line);
          if (ev.event === "phase") {
            phases.append(h("li", { class: ev.status }, `${ev.phase}: ${ev.status}${ev.detail ? " — " + ev.detail : ""}`));
          } else if (ev.event === "result") showTree(ev);
          else showError(outcome, { body: ev });
        }, "\n");
      } catch (err) {
        if (!ctx.signal.aborted) showError(outcome, err);
      } finally {
        go.disabled = false;
      }
    }

    function showTree(result) {
      const run = h("button", { id: "run" }, "Run");
      const download = h("button", { class: "secondary", id: "download" }, "Download JSON");
      const status = h("span", { class: "muted" });
      const graphBox = h("div", { class: "graph preview" });
      fill(outcome, 
        h("div", { class: "toolbar" }, h("h2", {}, `Generated tree: ${result.tasks.length} tasks`), run, download, status),
        h("p", { class: "muted" }, `mode ${result.mode}, model ${result.model}, ${result.stats ? result.stats.llm_calls : "?"} model call(s)`),
        result.fixes && result.fixes.length ? h("div", {}, h("h2", {}, "Repairs applied"), h("ul", {}, result.fixes.map((f) => h("li", {}, f)))) : null,
        graphBox);
      ApflowGraph.render(graphBox, specNodes(result.tasks));
      download.addEventListener("click", () => {
        const blob = new Blob([json(result.tasks)], { type: "application/json" });
        const a = h("a", { href: URL.createObjectURL(blob), download: "tree.json" });
        document.body.append(a); a.click(); a.remove();
      });
      run.addEventListener("click", async () => {
        run.disabled = true;
        try {
          const started = await api("/api/trees", { json: { tasks: result.tasks } });
          location.hash = "#/tree/" + encodeURIComponent(started.root_id);
        } catch (err) {
          run.disabled = false;
          showError(status, err);
        }
      });
    }
  }

  // -- Trees --------------------------------------------------------------------------
  function countsCell(counts) {
    return h("span", { class: "counts" }, STATUSES.filter((s) => counts[s]).map((s) => h("span", { class: "st-" + s, title: s }, h("i"), String(counts[s]))));
  }

  async function treesPage(ctx, params) {
    const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
    status.value = params.get("status") || "";
    const user = h("input", { id: "filter-user", placeholder: "user id", value: params.get("user") || "" });
    const apply = () => { const q = new URLSearchParams(); if (status.value) q.set("status", status.value); if (user.value) q.set("user", user.value); location.hash = "#/trees?" + q; };
    const table = h("div", { id: "trees" }, h("p", { class: "muted" }, "loading…"));
    fill(main, h("div", { class: "toolbar" }, h("h1", {}, "Trees"), h("label", {}, "status", status), h("label", {}, "user", user), h("button", { class: "secondary", onclick: apply }, "Filter")), table);
    status.addEventListener("change", apply);
    user.addEventListener("keydown", (ev) => { if (ev.key === "Enter") apply(); });
    const q = new URLSearchParams(params);
    q.set("limit", "50");
    let data;
    try { data = await api("/api/trees?" + q, { signal: ctx.signal }); } catch (err) { return showError(table, err); }
    const rows = data.trees.map((t) => h("tr", {},
      h("td", {}, h("a", { href: "#/tree/" + encodeURIComponent(t.root_id) }, t.name)),
      h("td", {}, badge(t.status)), h("td", {}, countsCell(t.counts)), h("td", {}, String(t.tasks)),
      h("td", {}, t.user_id || ""), h("td", { class: "muted" }, when(t.created_at))));
    const older = params.get("after");
    const pager = h("div", { class: "pager" },
      h("span", { class: "muted" }, `${data.total} tree(s)`),
      older ? h("button", { class: "secondary", onclick: () => history.back() }, "← Newer") : null,
      data.next ? h("button", { class: "secondary", id: "older", onclick: () => { const n = new URLSearchParams(params); n.set("after", data.next); location.hash = "#/trees?" + n; } }, "Older →") : null);
    fill(table, 
      data.trees.length ? h("table", {}, h("tr", {}, ["tree", "status", "tasks by status", "tasks", "user", "created"].map((c) => h("th", {}, c))), rows) : h("p", { class: "muted" }, "No trees stored yet. Describe one, or run `apflow run tree.json`."),
      pager);
  }

  // -- Tree ---------------------------------------------------------------------------
  async function treePage(ctx, rootId) {
    fill(main, h("p", { class: "muted" }, "loading…"));
    let data;
    try { data = await api("/api/trees/" + encodeURIComponent(rootId), { signal: ctx.signal }); } catch (err) { return showError(main, err); }
    const tasks = new Map(data.tasks.map((t) => [t.id, t]));
    const root = tasks.get(rootId);
    let running = data.running;
    const title = h("h1", {}, root.name);
    const rootBadge = h("span", { id: "root-status" });
    const live = h("span", { class: "live", id: "live" }, "connecting…");
    const cancel = h("button", { class: "danger", id: "cancel" }, "Cancel");
    const resume = h("button", { class: "secondary", id: "resume" }, "Resume");
    const counts = h("span", { id: "counts" });
    const message = h("span", { id: "message" });
    const graphBox = h("div", { class: "graph", id: "graph" });
    const panel = h("aside", { class: "panel", id: "panel" }, h("p", { class: "muted" }, "Click a task to see its inputs, result and error."));
    fill(main, 
      h("div", { class: "toolbar" }, title, rootBadge, counts, cancel, resume, live, message),
      h("p", { class: "muted mono" }, rootId),
      h("div", { class: "tree-layout" }, graphBox, panel));
    const graph = ApflowGraph.render(graphBox, storedNodes(data.tasks), { onSelect: (id) => showTask(id) });
    graphBox.append(h("div", { class: "tools" }, h("button", { class: "secondary", onclick: () => graph.fit() }, "Fit")));
    window.__apflowRender = Object.assign({ at_ms: performance.now() }, graph.stats);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.__apflowRender.painted_ms = performance.now();
      graphBox.dataset.rendered = "1";
    }));

    function refresh() {
      const tally = {};
      for (const t of tasks.values()) tally[t.status] = (tally[t.status] || 0) + 1;
      fill(counts, countsCell(tally));
      fill(rootBadge, badge(tasks.get(rootId).status));
      const unfinished = [...tasks.values()].some((t) => !TERMINAL.has(t.status));
      cancel.disabled = !(running || unfinished);
      resume.disabled = running || tasks.get(rootId).status === "completed";
    }
    refresh();

    events("/api/trees/" + encodeURIComponent(rootId) + "/events", (name, payload) => {
      running = payload.running;
      for (const s of payload.tasks) Object.assign(tasks.get(s.id) || {}, s);
      graph.update(payload.tasks);
      refresh();
      if (selectedId && payload.tasks.some((s) => s.id === selectedId)) showTask(selectedId);
    }, ctx.signal, (on) => { live.className = on ? "live on" : "live"; live.textContent = on ? "live" : "reconnecting…"; });

    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try { const r = await api(`/api/trees/${encodeURIComponent(rootId)}/cancel`, { json: {} }); message.textContent = `${r.cancelled} task(s) cancelled`; }
      catch (err) { showError(message, err); }
    });
    resume.addEventListener("click", async () => {
      resume.disabled = true;
      try {
        await api(`/api/trees/${encodeURIComponent(rootId)}/resume`, { json: {} });
      } catch (err) {
        if (err.status === 409 && err.body.hint && err.body.hint.includes("force") && confirm(err.body.error + "\n\nResume anyway?")) {
          try { await api(`/api/trees/${encodeURIComponent(rootId)}/resume`, { json: { force: true } }); } catch (e2) { showError(message, e2); }
        } else showError(message, err);
      }
      running = true; refresh();
    });

    let selectedId = null;
    async function showTask(id) {
      selectedId = id;
      graph.select(id);
      let t;
      try { t = await api("/api/tasks/" + encodeURIComponent(id), { signal: ctx.signal }); } catch (err) { return showError(panel, err); }
      const row = (k, v) => (v == null || v === "" ? null : [h("dt", {}, k), h("dd", {}, v)]);
      fill(panel, 
        h("h2", { id: "task-name" }, t.name), badge(t.status),
        h("dl", {},
          row("spec id", t.spec_id), row("stored id", h("span", { class: "mono" }, t.id)), row("executor", t.executor),
          row("error type", t.error_type), row("attempts", String(t.attempts)), row("priority", String(t.priority)),
          row("started", when(t.started_at)), row("completed", when(t.completed_at)),
          row("duration", t.duration_s == null ? null : t.duration_s + " s"),
          row("depends on", (t.dependencies || []).map((d) => (tasks.get(d.id) || { spec_id: d.id }).spec_id + (d.required === false ? " (optional)" : "")).join(", "))),
        t.error ? [h("h2", {}, "Error"), h("pre", { class: "error", id: "task-error" }, t.error)] : null,
        h("h2", {}, "Inputs"), h("pre", { id: "task-inputs" }, json(t.inputs)),
        t.result !== null && t.result !== undefined ? [h("h2", {}, "Result"), h("pre", { id: "task-result" }, json(t.result))] : null,
        t.result_meta ? [h("h2", {}, "Result details"), h("pre", {}, json(t.result_meta))] : null);
    }
  }

  // -- Executors ----------------------------------------------------------------------
  async function executorsPage(ctx) {
    let data;
    try { data = await api("/api/executors", { signal: ctx.signal }); } catch (err) { return showError(main, err); }
    fill(main, h("h1", {}, `Executors (${data.executors.length})`),
      data.executors.map((e) => h("div", { class: "card schema" },
        h("h2", {}, h("code", {}, e.id), e.name && e.name !== e.id ? " — " + e.name : ""),
        h("p", {}, e.description || ""),
        h("details", {}, h("summary", {}, "input schema"), h("pre", {}, json(e.input_schema || {}))))));
  }

  // -- routing ------------------------------------------------------------------------
  let info = null;
  async function route() {
    if (view) view.abort();
    view = new AbortController();
    const ctx = { signal: view.signal, info };
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, query] = hash.split("?");
    const parts = path.split("/");
    document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === (parts[0] === "tree" ? "trees" : parts[0] || "describe")));
    try {
      if (!info) {
        info = await api("/api/info");
        ctx.info = info;
        document.getElementById("server-info").textContent = `apflow ${info.version}`;
      }
      if (parts[0] === "tree" && parts[1]) await treePage(ctx, decodeURIComponent(parts[1]));
      else if (parts[0] === "trees") await treesPage(ctx, new URLSearchParams(query || ""));
      else if (parts[0] === "executors") await executorsPage(ctx);
      else describePage(ctx);
    } catch (err) {
      if (!ctx.signal.aborted) showError(main, err);
    }
  }
  window.addEventListener("hashchange", route);
  route();
})();
