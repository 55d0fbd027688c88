/* apflow console: task-tree graph. A layered (Sugiyama-style) layout written for task
 * trees, drawn as SVG. Why not a library: dagre 3.1.3 took 4 s (fan-in) to 41 s (layered)
 * and elkjs 0.12.1 6.5 s to lay out 1,000 tasks here; this takes milliseconds.
 *
 * Layers: longest path from the tasks with no dependencies (the aggregator root, which
 * depends on every child, comes last). Order inside a layer: barycentre sweeps, down then
 * up. Every piece of task text is set with textContent, never parsed as markup. */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const W = 180, H = 40, HGAP = 70, VGAP = 12, SWEEPS = 4, MAX_LABEL = 26;

  function layout(nodes) {
    const index = new Map(nodes.map((n, i) => [n.id, i]));
    const n = nodes.length;
    const preds = nodes.map((node) => (node.deps || []).map((d) => index.get(d.id)).filter((i) => i !== undefined));
    const succs = nodes.map(() => []);
    preds.forEach((ps, i) => ps.forEach((p) => succs[p].push(i)));
    // Longest-path layering by Kahn's order (a cycle, never stored, would stay at layer 0).
    const rank = new Array(n).fill(0), missing = preds.map((p) => p.length);
    const queue = [];
    for (let i = 0; i < n; i++) if (missing[i] === 0) queue.push(i);
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q];
      for (const s of succs[i]) {
        if (rank[i] + 1 > rank[s]) rank[s] = rank[i] + 1;
        if (--missing[s] === 0) queue.push(s);
      }
    }
    const layers = [];
    for (let i = 0; i < n; i++) (layers[rank[i]] = layers[rank[i]] || []).push(i);
    for (let r = 0; r < layers.length; r++) layers[r] = layers[r] || [];
    const pos = new Float64Array(n);
    const place = (layer) => layer.forEach((i, k) => { pos[i] = layer.length > 1 ? k / (layer.length - 1) : 0.5; });
    layers.forEach(place);
    const bary = (i, nbrs) => {
      const list = nbrs[i];
      if (!list.length) return pos[i];
      let sum = 0;
      for (const j of list) sum += pos[j];
      return sum / list.length;
    };
    for (let sweep = 0; sweep < SWEEPS; sweep++) {
      const down = sweep % 2 === 0;
      const nbrs = down ? preds : succs;
      const order = down ? layers.keys() : [...layers.keys()].reverse();
      for (const r of order) {
        const layer = layers[r];
        const key = new Map(layer.map((i) => [i, bary(i, nbrs)]));
        layer.sort((a, b) => key.get(a) - key.get(b));
        place(layer);
      }
    }
    // Coordinates: each layer a column, centred on the tallest one.
    const tallest = Math.max(1, ...layers.map((l) => l.length));
    const out = new Array(n);
    layers.forEach((layer, r) => {
      const offset = ((tallest - layer.length) * (H + VGAP)) / 2;
      layer.forEach((i, k) => { out[i] = { x: r * (W + HGAP), y: offset + k * (H + VGAP) }; });
    });
    return { pos: out, preds, width: layers.length * (W + HGAP) - HGAP, height: tallest * (H + VGAP) - VGAP };
  }

  function el(name, attrs) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function label(text) {
    text = String(text == null ? "" : text);
    return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "…" : text;
  }

  /* Draw ``nodes`` ({id, name, executor, status, deps: [{id, required}]}) into
   * ``container``; returns {update(states), select(id), fit(), stats}. */
  function render(container, nodes, options) {
    options = options || {};
    const t0 = performance.now();
    const geo = layout(nodes);
    const t1 = performance.now();
    container.textContent = "";
    const svg = el("svg", { role: "img", "aria-label": "task graph" });
    const viewport = el("g", {});
    const edges = el("g", {}), layer = el("g", {});
    const byId = new Map();
    const frag = document.createDocumentFragment();
    nodes.forEach((node, i) => {
      const p = geo.pos[i];
      const g = el("g", { class: "node st-" + (node.status || "new"), transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button" });
      g.dataset.id = node.id;
      const rect = el("rect", { width: W, height: H, rx: 7 });
      const title = el("title", {});
      title.textContent = `${node.name} (${node.spec_id || node.id})\n${node.executor || ""}\n${node.status || ""}${node.error ? "\n" + node.error : ""}`;
      const name = el("text", { x: 9, y: 17 });
      name.textContent = label(node.name);
      const sub = el("text", { x: 9, y: 32, class: "sub" });
      sub.textContent = label(node.executor);
      g.append(title, rect, name, sub);
      frag.appendChild(g);
      byId.set(node.id, { g, title, node, index: i });
    });
    layer.appendChild(frag);
    const edgeFrag = document.createDocumentFragment();
    nodes.forEach((node, i) => {
      const to = geo.pos[i];
      (node.deps || []).forEach((d) => {
        const fromEntry = byId.get(d.id);
        if (!fromEntry) return;
        const from = geo.pos[fromEntry.index];
        const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x, y2 = to.y + H / 2, mx = (x1 + x2) / 2;
        edgeFrag.appendChild(el("path", {
          class: d.required === false ? "edge optional" : "edge",
          d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
        }));
      });
    });
    edges.appendChild(edgeFrag);
    viewport.append(edges, layer);
    svg.appendChild(viewport);
    container.appendChild(svg);
    const t2 = performance.now();

    // Pan and zoom.
    let scale = 1, tx = 10, ty = 10;
    const apply = () => viewport.setAttribute("transform", `translate(${tx},${ty}) scale(${scale})`);
    const fit = () => {
      const box = svg.getBoundingClientRect();
      const s = Math.min((box.width - 20) / Math.max(geo.width, 1), (box.height - 20) / Math.max(geo.height, 1));
      scale = Math.max(0.05, Math.min(1, s));
      tx = Math.max(10, (box.width - geo.width * scale) / 2);
      ty = Math.max(10, (box.height - geo.height * scale) / 2);
      apply();
    };
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const box = svg.getBoundingClientRect();
      const mx = ev.clientX - box.left, my = ev.clientY - box.top;
      const k = Math.exp(-ev.deltaY * 0.0015);
      const next = Math.max(0.03, Math.min(3, scale * k));
      tx = mx - ((mx - tx) * next) / scale;
      ty = my - ((my - ty) * next) / scale;
      scale = next;
      apply();
    }, { passive: false });
    let drag = null, moved = false;
    svg.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, tx, ty }; moved = false; });
    svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
      tx = drag.tx + dx; ty = drag.ty + dy; apply();
    });
    svg.addEventListener("pointerup", () => { drag = null; });
    svg.addEventListener("pointerleave", () => { drag = null; });
    let selected = null;
    const select = (id) => {
      if (selected) selected.g.classList.remove("selected");
      selected = byId.get(id) || null;
      if (selected) selected.g.classList.add("selected");
    };
    const choose = (g) => {
      select(g.dataset.id);
      if (options.onSelect) options.onSelect(g.dataset.id);
    };
    svg.addEventListener("click", (ev) => {
      if (moved) return;
      const g = ev.target.closest && ev.target.closest("g.node");
      if (g) choose(g);
    });
    svg.addEventListener("keydown", (ev) => {  // Tab to a task, Enter or Space to open it
      const g = ev.target.closest && ev.target.closest("g.node");
      if (g && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); choose(g); }
    });
    fit();

    function update(states) {
      for (const s of states) {
        const entry = byId.get(s.id);
        if (!entry) continue;
        Object.assign(entry.node, s);
        const cls = "node st-" + s.status + (entry === selected ? " selected" : "");
        if (entry.g.getAttribute("class") !== cls) entry.g.setAttribute("class", cls);
        const n = entry.node;
        entry.title.textContent = `${n.name} (${n.spec_id || n.id})\n${n.executor || ""}\n${n.status}${n.error ? "\n" + n.error : ""}`;
      }
    }
    return { update, select, fit, stats: { tasks: nodes.length, layout_ms: t1 - t0, draw_ms: t2 - t1 } };
  }

  window.ApflowGraph = { layout, render };
})();
