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
    if (count) count.textContent = shown + " of " + count.dataset.total + " models shown";
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  apply();
})();
