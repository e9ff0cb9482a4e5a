// The node owner's status page: polls the admin JSON API and renders it. Every value from the
// node (instance names, errors, sources: tenants chose them) goes in as text, never as HTML.
"use strict";

const REFRESH_MS = 10000;
const charts = new Map();  // "name.namespace" -> {chart, canvas}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function time(unixSeconds) {
  if (!unixSeconds) return "";
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}

function fillTable(id, rows, emptyText, columns) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", emptyText, "empty");
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) tr.appendChild(typeof c === "object" ? c : el("td", c));
    body.appendChild(tr);
  }
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + " answered " + r.status);
  return r.json();
}

function renderStatus(status) {
  const instances = [], failures = [], deploys = [];
  let running = 0;
  for (const s of status.sources) {
    for (const d of s.deploys || []) {
      deploys.push([s.source, time(d.started_at), d.because, el("td", d.outcome, "outcome-" + d.outcome),
                    d.outcome === "ok" ? "" : d.stage, (d.duration_ms / 1000).toFixed(1) + " s", d.error]);
    }
    if (s.failure) failures.push([s.canonical || s.source || "", s.failure.stage, s.failure.message, time(s.failure.at)]);
    for (const i of s.instances) {
      if (i.state === "running") running++;
      const addresses = [i.ipv4, i.ipv6].filter(Boolean).join(" ");
      instances.push([i.name, i.namespace, i.source, el("td", i.state, "state-" + i.state), i.generation || "",
                      addresses, (i.dns_names || []).join(" "), time(i.started_at), i.restarts || 0]);
      if (i.failure) failures.push([i.name + "." + i.namespace, i.failure.stage, i.failure.message, time(i.failure.at)]);
    }
  }
  fillTable("instances", instances, "no instances are planted", 9);
  fillTable("failures", failures, "no failures", 4);
  // Newest first across sources.
  deploys.sort((a, b) => (a[1] < b[1]) - (a[1] > b[1]));
  fillTable("deploys", deploys, "no deploys yet", 7);
  document.getElementById("summary").textContent =
      status.sources.length + " sources, " + instances.length + " instances, " + running + " running";
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return (u === 0 ? n : n.toFixed(1)) + " " + units[u];
}

// Each mounted volume's filesystem as of the last usage sample.
function renderVolumes(usage) {
  const rows = [];
  for (const [name, inst] of Object.entries(usage.instances)) {
    for (const v of inst.volumes || []) {
      const pct = v.size_bytes ? Math.round(100 * v.used_bytes / v.size_bytes) + " %" : "";
      rows.push([name, v.name, bytes(v.used_bytes), bytes(v.size_bytes), pct]);
    }
  }
  fillTable("volumes", rows, "no mounted volumes", 5);
}

function renderQuarantine(q) {
  fillTable("quarantine", q.quarantine.map(e => [e.instance, time(e.until), e.toplevel, e.reason]),
            "nothing is quarantined", 4);
}

function renderUsage(usage) {
  const plots = document.getElementById("plots");
  const note = document.getElementById("plots-note");
  if (typeof Chart === "undefined") {
    note.hidden = false;
    note.textContent = "Plots need Chart.js on the node (Debian: apt-get install libjs-chart.js).";
    return;
  }
  const names = Object.keys(usage.instances);
  note.hidden = names.length > 0;
  note.textContent = "No instance VM is running.";
  for (const [name, entry] of charts) {
    if (!(name in usage.instances)) {
      entry.chart.destroy();
      entry.box.remove();
      charts.delete(name);
    }
  }
  for (const name of names) {
    const points = usage.instances[name].points;
    const now = Date.now();
    const cpu = points.map(p => ({ x: (p[0] - now) / 60000, y: p[1] }));
    const mem = points.map(p => ({ x: (p[0] - now) / 60000, y: p[2] / 1048576 }));
    let entry = charts.get(name);
    if (!entry) {
      const box = el("div", null, "plot");
      box.appendChild(el("h3", name));
      const canvas = el("canvas");
      box.appendChild(canvas);
      plots.appendChild(box);
      const chart = new Chart(canvas, {
        type: "line",
        data: { datasets: [
          { label: "CPU %", data: cpu, yAxisID: "cpu", borderColor: "#1f6feb", pointRadius: 0 },
          { label: "memory MiB", data: mem, yAxisID: "mem", borderColor: "#8250df", pointRadius: 0 },
        ] },
        options: {
          animation: false, parsing: false, normalized: true,
          scales: {
            x: { type: "linear", title: { display: true, text: "minutes ago" } },
            cpu: { type: "linear", position: "left", beginAtZero: true },
            mem: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
          },
        },
      });
      entry = { chart, box };
      charts.set(name, entry);
    } else {
      entry.chart.data.datasets[0].data = cpu;
      entry.chart.data.datasets[1].data = mem;
      entry.chart.update();
    }
  }
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const [status, quarantine, usage] = await Promise.all(
        [getJson("/api/v1/status"), getJson("/api/v1/quarantine"), getJson("/api/v1/usage")]);
    renderStatus(status);
    renderQuarantine(quarantine);
    renderUsage(usage);
    renderVolumes(usage);
    problem.hidden = true;
    document.body.dataset.loaded = "yes";  // tests wait for this
  } catch (e) {
    problem.hidden = false;
    problem.textContent = "seedd did not answer: " + e.message;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
