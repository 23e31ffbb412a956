// Zoom for the treemaps, drawn whole at generation time: zooming moves the SVG's viewBox
// onto a directory's rectangle. Nothing here reads names as markup (textContent only).
"use strict";
document.documentElement.dataset.script = "ran";
const status = document.querySelector("p.status");
function dirsFrom(node, svg) {
  const chain = [];
  for (let g = node && node.closest("g.dir-open"); g && svg.contains(g); g = g.parentElement.closest("g.dir-open")) {
    chain.unshift(g);
  }
  return chain;
}
for (const svg of document.querySelectorAll("svg.treemap")) {
  const crumbs = document.querySelector(`nav.crumbs[data-for="${svg.id}"]`);
  let zoomed = null;
  const zoom = (g) => {
    zoomed = g;
    svg.setAttribute("viewBox", (g || svg).dataset.box);
    crumbs.replaceChildren();
    const levels = [null, ...dirsFrom(g, svg)];
    levels.forEach((level, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = level ? level.dataset.name + "/" : "/";
      if (i === levels.length - 1) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => zoom(level));
      crumbs.append(button);
    });
  };
  // One level deeper than the current zoom, on the way to what was clicked.
  const zoomTowards = (target) => {
    const chain = dirsFrom(target, svg);
    const next = chain[chain.indexOf(zoomed) + 1];
    if (next) zoom(next);
  };
  svg.addEventListener("click", (e) => zoomTowards(e.target));
  svg.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      zoomTowards(e.target);
    } else if (e.key === "Escape" && zoomed) {
      const up = dirsFrom(zoomed, svg);
      zoom(up[up.length - 2] || null);
    }
  });
  const show = (e) => {
    const title = e.target.querySelector(":scope > title");
    if (title && status) status.textContent = title.textContent;
  };
  svg.addEventListener("mouseover", show);
  svg.addEventListener("focusin", (e) => {
    const frame = e.target.querySelector(":scope > rect.frame");
    if (frame) show({ target: frame });
  });
  // A link can open a map zoomed: report.html#map-fs=/usr/lib.
  const link = location.hash.slice(1).split("&").find((part) => part.startsWith(svg.id + "="));
  let start = null;
  if (link) {
    for (const name of decodeURIComponent(link.slice(svg.id.length + 1)).split("/").filter(Boolean)) {
      const next = [...(start || svg).querySelectorAll("g.dir-open")].find(
        (g) => g.dataset.name === name && g.parentElement.closest("g.dir-open") === start,
      );
      if (!next) break;
      start = next;
    }
  }
  zoom(start);
}
// Printing shows every folded story.
window.addEventListener("beforeprint", () => {
  for (const d of document.querySelectorAll("details")) d.open = true;
});
// A self-test of the keyboard and mouse zoom, run only when the address asks for it
// (report.html#selftest): a headless browser's command line cannot press keys, so the
// browser tests dispatch them here and read the outcome from the DOM.
if (location.hash === "#selftest") {
  const results = [];
  const svg = document.querySelector("svg.treemap");
  const g = svg && svg.querySelector("g.dir-open");
  if (g) {
    const crumbs = document.querySelector(`nav.crumbs[data-for="${svg.id}"]`);
    const at = (box) => svg.getAttribute("viewBox") === box;
    const key = (k) => g.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    g.focus();
    results.push("focus=" + (document.activeElement === g));
    key("Enter");
    results.push("enter=" + at(g.dataset.box), "crumbs=" + crumbs.querySelectorAll("button").length);
    key("Escape");
    results.push("escape=" + at(svg.dataset.box));
    key(" ");
    results.push("space=" + at(g.dataset.box));
    crumbs.querySelector("button").click();
    results.push("crumb=" + at(svg.dataset.box));
    g.querySelector(":scope > rect.frame").dispatchEvent(new MouseEvent("click", { bubbles: true }));
    results.push("click=" + at(g.dataset.box));
  }
  document.documentElement.dataset.selftest = results.join(" ");
}
