// A bar chart of issuances and refusals over time, drawn as SVG through the DOM (no library, no
// inline style: colours are presentation attributes and CSS classes).

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

/**
 * Counts `issued` and `refused` rows (each {time}) into `bins` slots of `step` seconds ending at
 * `end` (Unix seconds). Returns [{start, issued, refused}], oldest first.
 */
export function bin(issued, refused, end, step, bins) {
  const start = end - step * bins;
  const slots = Array.from({ length: bins }, (_, i) => ({ start: start + i * step, issued: 0, refused: 0 }));
  const put = (rows, field) => {
    for (const r of rows) {
      const i = Math.floor((r.time - start) / step);
      if (i >= 0 && i < bins) slots[i][field] += 1;
    }
  };
  put(issued, "issued");
  put(refused, "refused");
  return slots;
}

/** Draws `slots` into the element `figure` (its <svg> and caption are replaced). */
export function draw(figure, slots, step) {
  const width = 640;
  const height = 160;
  const pad = { left: 32, right: 8, top: 8, bottom: 22 };
  const max = Math.max(1, ...slots.map((s) => Math.max(s.issued, s.refused)));
  const slotW = (width - pad.left - pad.right) / slots.length;
  const barW = Math.max(1, slotW / 2 - 1);
  const y = (n) => pad.top + (height - pad.top - pad.bottom) * (1 - n / max);
  const bars = [];
  slots.forEach((s, i) => {
    const x = pad.left + i * slotW;
    const when = new Date(s.start * 1000).toISOString().slice(11, 16);
    for (const [field, dx] of [["issued", 0], ["refused", barW + 1]]) {
      const n = s[field];
      if (!n) continue;
      bars.push(svg("rect", { class: `bar ${field}`, x: x + dx, y: y(n), width: barW, height: y(0) - y(n) },
        svg("title", {}, `${when} UTC: ${n} ${field}`)));
    }
  });
  const label = (i) => new Date(slots[i].start * 1000).toISOString().slice(11, 16);
  const axis = [
    svg("line", { class: "axis", x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0) }),
    svg("text", { class: "tick", x: pad.left - 4, y: y(max) + 4, "text-anchor": "end" }, String(max)),
    svg("text", { class: "tick", x: pad.left - 4, y: y(0), "text-anchor": "end" }, "0"),
    svg("text", { class: "tick", x: pad.left, y: height - 6 }, label(0)),
    svg("text", { class: "tick", x: width - pad.right, y: height - 6, "text-anchor": "end" }, "now"),
  ];
  const issued = slots.reduce((a, s) => a + s.issued, 0);
  const refused = slots.reduce((a, s) => a + s.refused, 0);
  const minutes = Math.round((step * slots.length) / 60);
  const summary = `${issued} issued and ${refused} refused in the last ${minutes} minutes ` +
    `(bars of ${Math.round(step / 60)} min; blue issued, red refused)`;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, class: "chart" },
    ...axis, ...bars);
  const caption = document.createElement("figcaption");
  caption.textContent = summary;
  figure.replaceChildren(chart, caption);
  figure.dataset.issued = String(issued);
  figure.dataset.refused = String(refused);
}
