// modelreg's web page: filter the model list as you type. Every page works
// without this script (the server filters through the form's query parameters);
// the static report, which has no server, filters here from the same parameters.
"use strict";
(function () {
  const form = document.querySelector("form[data-filters]");
  if (!form) return;
  const rows = Array.from(document.querySelectorAll("tr[data-name]"));
  const count = document.getElementById("count");
  // One page of a long list: filtering what is on it would say too little, so the
  // form goes to the server, which filters every model.
  if (count && count.hasAttribute("data-paged")) return;
  const field = (name) => form.elements.namedItem(name);
  const params = new URLSearchParams(window.location.search);
  for (const name of ["q", "label", "stage"]) {
    if (params.has(name) && field(name)) field(name).value = params.get(name);
  }
  if (params.has("deprecated")) field("deprecated").checked = true;

  function labelMatches(wanted, labels) {
    const eq = wanted.indexOf("=");
    if (eq >= 0) {
      return labels.includes(wanted.slice(0, eq).trim() + "=" + wanted.slice(eq + 1).trim());
    }
    return labels.some((pair) => pair.split("=").includes(wanted));
  }

  function apply() {
    const q = field("q").value.trim().toLowerCase();
    const label = field("label").value.trim();
    const stage = field("stage").value;
    const deprecated = field("deprecated").checked;
    let shown = 0;
    for (const row of rows) {
      const labels = row.dataset.labels.split("\n").filter(Boolean);
      const keep =
        (deprecated || !row.hasAttribute("data-deprecated")) &&
        (!q || row.dataset.name.toLowerCase().includes(q)) &&
        (!stage || row.dataset.stages.split(" ").includes(stage)) &&
        (!label || labelMatches(label, labels));
      row.classList.toggle("hidden", !keep);
      if (keep) shown += 1;
    }
    for (const group of document.querySelectorAll("[data-group]")) {
      group.hidden = !group.querySelector("tr[data-name]:not(.hidden)");
    }
    if (count) {
      count.textContent =
        shown + " of " + count.dataset.total + " models shown" + (count.dataset.suffix || "");
    }
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  apply();
})();

// The static report's "compare any two versions": no server to ask, so the model
// page carries each active version's side of a diff (every field and file, as
// modelreg's diff lists them) and this lines the two chosen up as /diff would.
(function () {
  const form = document.querySelector("form[data-compare]");
  const data = document.getElementById("compare-data");
  const out = document.getElementById("compare-result");
  if (!form || !data || !out) return;
  let sides;
  try {
    sides = JSON.parse(data.textContent);
  } catch (error) {
    return;
  }
  const SECTIONS = ["metrics", "params", "dependencies", "labels"];

  function plusG(x) {
    // Python's format(x, "+.4g"), as the server's diff page writes a delta
    const sign = x < 0 ? "-" : "+";
    const a = Math.abs(x);
    if (a === 0) return sign + "0";
    const [mantissa, exp] = a.toExponential(3).split("e");
    const e = parseInt(exp, 10);
    if (e < -4 || e >= 4) {
      const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
      return sign + m + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
    }
    let fixed = a.toFixed(Math.max(0, 3 - e));
    if (fixed.includes(".")) fixed = fixed.replace(/\.?0+$/, "");
    return sign + fixed;
  }

  function cell(row, text, className) {
    const td = document.createElement(row.children.length ? "td" : "th");
    if (!row.children.length) td.scope = "row";
    if (className) {
      const span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
  }

  function table(title, id, a, b, rows) {
    const section = document.createElement("section");
    section.setAttribute("aria-labelledby", id);
    const h = document.createElement("h3");
    h.id = id;
    h.textContent = title;
    const t = document.createElement("table");
    t.className = "diff";
    const head = t.createTHead().insertRow();
    for (const text of [title === "Files" ? "File" : "Key", "v" + a, "v" + b, "Change"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    }
    const body = t.createTBody();
    for (const [status, cells] of rows) {
      const row = body.insertRow();
      row.className = status;
      for (const [text, className] of cells) cell(row, text, className);
    }
    const scroll = document.createElement("div");
    scroll.className = "scroll";
    scroll.appendChild(t);
    section.append(h, scroll);
    return section;
  }

  function compare(a, b) {
    const old = sides[a], now = sides[b];
    const bySection = new Map();
    const keyed = (side) => {
      const found = new Map();
      for (const [section, key, value, text] of side.changes) found.set(section + "\n" + key, [value, text]);
      return found;
    };
    const x = keyed(old), y = keyed(now);
    const keys = Array.from(new Set([...x.keys(), ...y.keys()])).sort();
    let identical = true;
    for (const both of keys) {
      const cut = both.indexOf("\n");
      const section = both.slice(0, cut), key = both.slice(cut + 1);
      const [ov, ot] = x.get(both) || [null, null];
      const [nv, nt] = y.get(both) || [null, null];
      const status = ov === null ? "added" : nv === null ? "removed"
        : JSON.stringify(ov) === JSON.stringify(nv) ? "same" : "changed";
      if (status !== "same") identical = false;
      const numbers = [ov, nv].every((v) => typeof v === "number");
      const delta = numbers ? nv - ov : null;
      const change = delta === null ? [status, ""]
        : [plusG(delta), delta > 0 ? "up" : delta < 0 ? "down" : "flat"];
      if (!bySection.has(section)) bySection.set(section, []);
      bySection.get(section).push([status, [[key, ""], [ot === null ? "—" : ot, ""], [nt === null ? "—" : nt, ""], change]]);
    }
    const files = new Map();
    for (const f of old.files) files.set(f.path, [f, null]);
    for (const f of now.files) files.set(f.path, [(files.get(f.path) || [null])[0], f]);
    const fileRows = [];
    for (const path of Array.from(files.keys()).sort()) {
      const [o, n] = files.get(path);
      const status = !o ? "added" : !n ? "removed" : o.sha256 === n.sha256 ? "same" : "changed";
      if (status !== "same") identical = false;
      const side = (f) => (f ? f.size + " " + String(f.sha256 || "").slice(0, 12) + "…" : "—");
      fileRows.push([status, [[path, ""], [side(o), ""], [side(n), ""], [status, ""]]]);
    }
    out.replaceChildren();
    const title = document.createElement("h3");
    title.textContent = "v" + a + " → v" + b;
    out.appendChild(title);
    if (identical) {
      const p = document.createElement("p");
      p.className = "lead";
      p.textContent = "The two versions are identical.";
      out.appendChild(p);
    }
    const order = (s) => (SECTIONS.includes(s) ? SECTIONS.indexOf(s) : 99);
    const sections = Array.from(bySection.keys()).sort((p, q) => order(p) - order(q));
    for (const section of sections) {
      const title = section.charAt(0).toUpperCase() + section.slice(1);
      out.appendChild(table(title, "c-" + section, a, b, bySection.get(section)));
    }
    out.appendChild(table("Files", "c-files", a, b, fileRows));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    compare(form.elements.namedItem("a").value, form.elements.namedItem("b").value);
  });
})();
