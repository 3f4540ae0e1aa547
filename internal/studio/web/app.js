// possim studio — the page. Plain JavaScript, no library, no build step:
// it must run offline in a classroom from the binary alone.
"use strict";

const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const $ = (id) => document.getElementById(id);
const KEEP_LIVE = 300; // rows in the page while following live

let lanes = ["terminal", "host"];
let version = 0;
let state = null;
let catalogue = null;
const rows = new Map(); // row number → {r: row data, el: element}
let minN = Infinity, maxN = 0, oldest = 1;
let pending = [];
let scheduled = false;

function headers(json) {
  const h = {};
  if (token) h["Authorization"] = "Bearer " + token;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function api(method, path, body) {
  const opt = { method, headers: headers(method !== "GET") };
  if (method !== "GET") opt.body = JSON.stringify(body || {});
  const r = await fetch(path, opt);
  let data = null;
  const text = await r.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { error: text }; } }
  if (!r.ok) throw new Error((data && data.error) || (r.status + " " + r.statusText));
  return data;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// --- the stream: Server-Sent Events read with fetch, so the token goes in a header ---
async function connect() {
  for (;;) {
    try {
      const r = await fetch("api/events?since=" + version, { headers: headers(false) });
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      setConn(true);
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (data) queue(JSON.parse(data));
        }
      }
    } catch (e) {
      // fall through to reconnect
    }
    setConn(false);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

function setConn(ok) {
  const c = $("conn");
  c.className = "badge " + (ok ? "ok" : "bad");
  c.textContent = ok ? "● live" : "✖ disconnected — retrying";
}

// Batches are applied once per animation frame: however fast the link,
// the page redraws at most at the screen's rate.
function queue(b) {
  pending.push(b);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  scheduled = false;
  const batches = pending;
  pending = [];
  if (!batches.length) return;
  const follow = $("follow").checked;
  // Merge what came since the last frame: the newest copy of each row, the
  // newest state. Following live, only the rows the window will keep are
  // drawn, so a page that fell behind catches up in one frame.
  let reset = false, st = null, skipped = 0;
  const merged = new Map();
  for (const b of batches) {
    if (b.reset) { reset = true; merged.clear(); }
    version = b.version;
    oldest = b.oldest;
    if (b.state) st = b.state;
    skipped = b.skipped || 0;
    for (const r of b.rows || []) merged.set(r.n, r);
  }
  if (reset) clearLadder();
  if (st) renderState(st);
  let todo = [...merged.values()].sort((a, b) => a.n - b.n);
  if (follow && todo.length > KEEP_LIVE) todo = todo.slice(todo.length - KEEP_LIVE);
  for (const r of todo) upsert(r);
  $("skipped").textContent = skipped ? "⚠ " + skipped + " rows went by too fast: scroll back with “load older”" : "";
  if (follow) {
    trim();
    const w = $("ladder-wrap");
    w.scrollTop = w.scrollHeight;
  }
  $("rowcount").textContent = rows.size + " rows shown";
  $("older").disabled = minN <= oldest;
}

function clearLadder() {
  for (const v of rows.values()) v.el.remove();
  rows.clear();
  minN = Infinity;
  maxN = 0;
}

function trim() {
  if (rows.size <= KEEP_LIVE) return;
  const ns = [...rows.keys()].sort((a, b) => a - b);
  for (const n of ns.slice(0, ns.length - KEEP_LIVE)) {
    rows.get(n).el.remove();
    rows.delete(n);
  }
  minN = ns[ns.length - KEEP_LIVE];
}

function upsert(r) {
  const old = rows.get(r.n);
  const e = renderRow(r);
  if (old) {
    old.el.replaceWith(e);
    old.r = r;
    old.el = e;
    return;
  }
  rows.set(r.n, { r, el: e });
  const lad = $("ladder");
  if (r.n > maxN) {
    lad.appendChild(e);
  } else if (r.n < minN) {
    lad.insertBefore(e, lad.firstChild);
  } else {
    let next = null;
    for (const c of lad.children) {
      if (+c.dataset.n > r.n) { next = c; break; }
    }
    lad.insertBefore(e, next);
  }
  minN = Math.min(minN, r.n);
  maxN = Math.max(maxN, r.n);
}

function laneX(name) {
  let i = lanes.indexOf(name);
  if (i < 0) i = name === "host" ? lanes.length - 1 : 0;
  return ((i + 0.5) / lanes.length) * 100;
}

function fmtMS(ms) {
  if (ms === undefined || ms === null) return "";
  if (ms < 10) return ms.toFixed(2) + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

const stateWords = {
  in_flight: "… in flight",
  delivered: "",
  lost: "✖ LOST — never arrived",
  late: "⚠ LATE",
  bad: "✖ unreadable",
  unmatched: "? matches no request",
  sent: "→ sent (the other end is not watched)",
};

function renderRow(r) {
  const e = el("div", "row " + r.type + " " + (r.state || "") + " " + (r.tone || ""));
  e.dataset.n = r.n;
  e.tabIndex = 0;
  if (r.mti) e.dataset.mti = r.mti;
  if (r.stan) e.dataset.stan = r.stan;
  e.appendChild(el("span", "t", "+" + (r.at_ms / 1000).toFixed(3) + "s"));
  const area = el("div", "lanebg");
  e.appendChild(area);
  if (r.type === "msg" || r.type === "arrival") {
    let x1 = laneX(r.from), x2 = laneX(r.to);
    const right = x2 > x1;
    const cut = r.type === "msg" && r.state !== "delivered" && r.state !== "bad" && r.state !== "unmatched" && r.state !== "sent" && !(r.state === "late" && !r.arrival);
    if (r.type === "arrival") x1 = (x1 + x2) / 2; // the second half, where it arrived
    let end = x2;
    if (cut || (r.type === "msg" && r.arrival)) end = (x1 + x2) / 2; // stops halfway
    const a = el("div", "arrow " + (right ? "right" : "left") + ((cut || r.arrival) && r.type === "msg" ? " cut" : ""));
    a.style.left = Math.min(x1, end) + "%";
    a.style.width = Math.abs(end - x1) + "%";
    if (cut && r.state === "lost") a.appendChild(el("span", "x", "✖"));
    area.appendChild(a);
    const lbl = el("div", "lbl");
    lbl.style.left = Math.min(x1, x2) + 1 + "%";
    lbl.style.maxWidth = 99 - Math.min(x1, x2) + "%"; // the row is the label's: it may run past the arrow
    const dir = right ? "→" : "←";
    const head = r.type === "arrival" ? "⤷ arrives: " : dir + " ";
    lbl.textContent = head + r.mti + " " + (r.what || "") + (r.stan ? " · STAN " + r.stan : "");
    area.appendChild(lbl);
    const l2 = el("div", "lbl2");
    l2.style.left = Math.min(x1, x2) + 1 + "%";
    l2.style.maxWidth = 99 - Math.min(x1, x2) + "%";
    const parts = [];
    if (r.rc) parts.push("RC " + r.rc + " " + (r.rc_text || ""));
    if (r.state && stateWords[r.state]) parts.push(stateWords[r.state] + (r.state === "late" && r.late_ms ? " +" + fmtMS(r.late_ms) + " after the timeout" : ""));
    if (r.type === "msg" && r.arrival) parts.push("↓ arrives further down");
    if (r.round_ms) parts.push("◷ " + fmtMS(r.round_ms));
    else if (r.transit_ms && r.state !== "in_flight") parts.push("◷ " + fmtMS(r.transit_ms));
    l2.textContent = parts.join(" · ");
    if (r.faults && r.faults.length) {
      const f = el("span", "fault", " ⚡ " + r.faults.join(", "));
      l2.appendChild(f);
    }
    area.appendChild(l2);
    e.title = (r.detail || "") + " — click for the fields and the hex";
    e.addEventListener("click", () => showMessage(r));
  } else {
    const t = el("div", "notetext", (r.icon ? r.icon + " " : "") + (r.type === "note" ? r.lane + ": " : "") + r.text);
    if (r.type === "note") {
      t.style.marginLeft = Math.max(0, laneX(r.lane) - 25) + "%";
    }
    area.replaceWith(t);
    if (r.tx) e.addEventListener("click", () => showTx(r.tx));
  }
  e.addEventListener("keydown", (ev) => { if (ev.key === "Enter") e.click(); });
  return e;
}

// --- state: screen, counts, scenario, failures ---
function renderState(s) {
  state = s;
  if (JSON.stringify(s.lanes) !== JSON.stringify(lanes)) {
    lanes = s.lanes;
    renderLanes();
    for (const v of rows.values()) upsert(v.r);
  }
  $("mode").textContent = "" + s.mode;
  const ls = $("linkstate");
  const up = s.link === "up";
  ls.className = "badge " + (up ? "ok" : "bad");
  ls.textContent = (up ? "● link up" : "✂ link down") + (s.embedded ? (s.host_up ? " · host up" : " · ✖ host down") : "");
  const sc = s.screen || {};
  const scr = $("screen");
  scr.className = "screen " + (sc.tone || "info");
  $("screen-icon").textContent = sc.icon || "";
  $("screen-l1").textContent = sc.line1 || "";
  $("screen-l2").textContent = sc.line2 || "";
  const c = s.counts || {};
  $("counts").textContent = Object.keys(c).sort().map((k) => k.replaceAll("_", " ") + " " + c[k]).join(" · ");
  renderFailures(s.failures || []);
  renderScenario(s.scenario);
  const st = s.stream || {};
  $("stream-state").textContent = st.tps
    ? "streaming " + st.tps * 2 + " messages/s asked · " + Math.round(st.msgs_per_s || 0) + " seen/s · " + st.done + " done · " + st.failed + " failed" + (st.skipped ? " · " + st.skipped + " skipped (too many in flight)" : "")
    : "stopped" + (st.msgs_per_s > 1 ? " · " + Math.round(st.msgs_per_s) + " messages/s" : "");
  $("dl-pcap").hidden = !s.capture;
  $("dl-note").textContent = s.capture ? "pcap: the bytes as sent and received by the terminal (open it in Wireshark); JSON trace: the ladder as the studio keeps it." : "";
}

function renderLanes() {
  // The lanes' lines: one overlay for the whole ladder, not a copy per row.
  const bg = $("lanelines");
  bg.textContent = "";
  for (const name of lanes) {
    const i = el("i");
    i.style.left = laneX(name) + "%";
    bg.appendChild(i);
  }
  const l = $("lanes");
  l.textContent = "";
  for (const name of lanes) l.appendChild(el("div", "", (name === "host" ? "" : name === "proxy" ? "⇄ " : "") + name));
}

function renderFailures(list) {
  const box = $("failures");
  box.textContent = "";
  if (!list.length) {
    box.appendChild(el("p", "small", "No failed transaction yet."));
    return;
  }
  for (const tx of list.slice(0, 6)) box.appendChild(failureCard(tx));
}

function failureCard(tx) {
  const d = el("div", "failure");
  d.dataset.cause = tx.cause ? tx.cause.id : "";
  d.appendChild(el("div", "head", (tx.screen.icon || "✖") + " " + tx.kind + (tx.stan ? " STAN " + tx.stan : "") + " — " + tx.screen.line1));
  if (tx.cause) {
    const dl = el("dl");
    const add = (k, v) => { if (v) { dl.appendChild(el("dt", "", k)); dl.appendChild(el("dd", "", v)); } };
    add("cause", tx.cause.title + " (" + tx.cause.id + ")");
    add("merchant", tx.cause.merchant);
    add("engineer", tx.cause.engineer);
    add("fix", tx.cause.fix);
    add("checklist", (tx.cause.checklist || "none") + (tx.cause.checklist_note ? " — " + tx.cause.checklist_note : ""));
    add("reversal", tx.reversal);
    d.appendChild(dl);
  }
  d.addEventListener("click", () => showTx(tx));
  return d;
}

function renderScenario(v) {
  const st = $("sc-status");
  if (!v) {
    st.textContent = "Pick a scenario and press ▶ Play (or ⇥ Step to go one step at a time).";
    return;
  }
  const icons = { playing: "▶", paused: "❚❚", done: v.passed ? "✔" : "✖", stopped: "■", ready: "○" };
  st.textContent = (icons[v.status] || "") + " " + v.name + " — " + v.status + (v.speed > 1 ? " · slow motion ×" + v.speed : "") + (v.verdict ? " · " + v.verdict : "");
  st.className = "small " + (v.status === "done" ? (v.passed ? "ok" : "bad") : "");
  const ol = $("sc-steps");
  ol.textContent = "";
  for (const s of v.steps || []) {
    const mark = s.state === "done" ? "✔ " : s.state === "now" ? "▶ " : s.state === "next" ? "❚❚ next: " : "○ ";
    ol.appendChild(el("li", s.state, mark + s.text));
  }
  const ul = $("sc-expect");
  ul.textContent = "";
  for (const x of v.expect || []) {
    const mark = x.state === "met" ? "✔ met: " : x.state === "failed" ? "✖ FAILED: " : "○ waiting: ";
    const li = el("li", x.state, mark + x.text);
    if (x.evidence) li.appendChild(el("div", "small", "evidence: " + x.evidence));
    ul.appendChild(li);
  }
  if ($("sc-notes").dataset.name !== v.name) {
    $("sc-notes").textContent = unwrap(v.description);
    $("sc-notes").dataset.name = v.name;
  }
  const sel = $("scenario");
  if (sel.value !== v.name && document.activeElement !== sel) sel.value = v.name;
}

// The library's notes are wrapped at 76 columns: join the lines of a
// paragraph so that they wrap at the panel's width.
function unwrap(text) {
  return (text || "").replace(/([^\n])\n(?!\n)/g, "$1 ").trim();
}

// --- details ---
function openDetail(title) {
  $("detail-title").textContent = title;
  $("detail-body").textContent = "";
  $("detail").hidden = false;
  $("detail-close").focus();
  return $("detail-body");
}

function closeDetail() { $("detail").hidden = true; }

async function showMessage(r) {
  const body = openDetail(r.mti + " " + (r.what || "") + (r.stan ? " · STAN " + r.stan : "") + " · " + r.from + " → " + r.to);
  const facts = [];
  if (r.state) facts.push("state: " + (stateWords[r.state] || "✔ delivered"));
  if (r.rc) facts.push("RC " + r.rc + " — " + r.rc_text);
  if (r.round_ms) facts.push("round trip " + fmtMS(r.round_ms));
  if (r.transit_ms) facts.push("on the wire " + fmtMS(r.transit_ms));
  if (r.late_ms) facts.push("late by " + fmtMS(r.late_ms));
  if (r.faults && r.faults.length) facts.push("⚡ faults: " + r.faults.join(", "));
  if (r.detail) facts.push(r.detail);
  body.appendChild(el("p", "", facts.join(" · ")));
  if (!r.msg) return;
  try {
    const d = await api("GET", "api/messages/" + r.msg);
    if (d.note) body.appendChild(el("p", "warn", "⚠ " + d.note));
    for (const c of d.copies) {
      body.appendChild(el("h3", "", c.seen + " — " + c.length + " bytes" + (c.framing ? " (framing: " + c.framing + ")" : "")));
      body.appendChild(el("pre", "fields", c.fields));
      body.appendChild(el("pre", "hex", c.hex));
    }
  } catch (e) {
    body.appendChild(el("p", "error", e.message));
  }
}

function showTx(tx) {
  const body = openDetail(tx.kind + (tx.stan ? " STAN " + tx.stan : "") + " — " + (tx.class || "in progress").replaceAll("_", " "));
  body.appendChild(el("p", "screen-l1 " + tx.screen.tone, tx.screen.icon + " " + tx.screen.line1));
  if (tx.screen.line2) body.appendChild(el("p", "", tx.screen.line2));
  const facts = [];
  if (tx.amount) facts.push("amount " + tx.amount);
  if (tx.card) facts.push("card " + tx.card);
  if (tx.rc) facts.push("RC " + tx.rc + " — " + tx.rc_meaning);
  if (tx.auth_code) facts.push("auth " + tx.auth_code);
  if (tx.latency_ms) facts.push("latency " + fmtMS(tx.latency_ms));
  body.appendChild(el("p", "", facts.join(" · ")));
  if (tx.why) body.appendChild(el("p", "", "why: " + tx.why));
  if (tx.reversal) body.appendChild(el("p", "", tx.reversal));
  if (tx.cause) body.appendChild(failureCard(tx));
}

// --- the terminal ---
async function sendTx(ev) {
  if (ev) ev.preventDefault();
  try {
    await api("POST", "api/transactions", { kind: $("kind").value, amount: $("amount").value, pan: $("card").value });
  } catch (e) {
    $("screen-l2").textContent = "✖ " + e.message;
  }
}

// --- faults ---
async function refreshFaults() {
  if (!state) return;
  const ul = $("active");
  const items = [];
  for (const side of state.sides || []) {
    try {
      const d = await api("GET", "api/control/" + side + "/faults");
      for (const f of d.faults) items.push({ side, f });
    } catch (e) {
      $("fault-error").textContent = e.message;
    }
  }
  ul.textContent = "";
  if (!items.length) ul.appendChild(el("li", "small", "none"));
  for (const { side, f } of items) {
    const li = el("li", "", "⚡ " + side + ": " + f.spec + " — fired " + f.fired + "×");
    li.dataset.side = side;
    li.dataset.id = f.id;
    const b = el("button", "", "✕ switch off");
    b.type = "button";
    b.addEventListener("click", async () => {
      try {
        await api("DELETE", "api/control/" + side + "/faults/" + f.id);
      } catch (e) {
        $("fault-error").textContent = e.message;
      }
      refreshFaults();
    });
    li.appendChild(b);
    ul.appendChild(li);
  }
}

async function applyMode(m) {
  $("fault-error").textContent = "";
  try {
    for (const r of m.faults || []) await api("POST", "api/control/" + r.side + "/faults", { spec: r.spec });
    if (m.action) await api("POST", "api/actions/" + m.action, {});
    if (m.card) $("card").value = m.card;
  } catch (e) {
    $("fault-error").textContent = m.name + ": " + e.message;
  }
  refreshFaults();
}

function renderCatalogue(c) {
  catalogue = c;
  const card = $("card");
  card.textContent = "";
  for (const k of c.cards) {
    const o = el("option", "", k.pan.slice(0, 6) + "…" + k.pan.slice(-4) + " — " + k.answer);
    o.value = k.pan;
    card.appendChild(o);
  }
  const modes = $("modes");
  modes.textContent = "";
  for (const m of c.modes) {
    const b = el("button", "mode" + (m.live ? "" : " off"), (m.live ? "⚡ " : "▷ ") + m.name);
    b.type = "button";
    b.dataset.mode = m.name;
    b.title = m.title + (m.live ? "" : " — " + m.why);
    b.addEventListener("click", () => {
      if (m.live) applyMode(m);
      else { $("scenario").value = m.name; showNotes(m); }
    });
    modes.appendChild(b);
  }
  const acts = $("actions");
  acts.textContent = "";
  for (const a of c.actions) {
    if (a.embedded_only && state && !state.embedded) continue;
    const b = el("button", "mode", "✂ " + a.Title);
    b.type = "button";
    b.title = a.Help;
    b.dataset.action = a.Name;
    b.addEventListener("click", () => api("POST", "api/actions/" + a.Name, {}).catch((e) => { $("fault-error").textContent = e.message; }));
    acts.appendChild(b);
  }
  const side = $("cf-side");
  side.textContent = "";
  for (const s of c.sides) side.appendChild(el("option", "", s));
  const typ = $("cf-type");
  typ.textContent = "";
  for (const t of c.fault_types) {
    const o = el("option", "", t.Name + " (" + t.Level + ")");
    o.value = t.Name;
    typ.appendChild(o);
  }
  typ.addEventListener("change", renderAttrs);
  renderAttrs();
  const sel = $("scenario");
  sel.textContent = "";
  for (const s of c.scenarios) {
    const o = el("option", "", s.name + " — " + s.title);
    o.value = s.name;
    sel.appendChild(o);
  }
  sel.addEventListener("change", () => {
    const m = c.modes.find((x) => x.name === sel.value);
    if (m) showNotes(m);
  });
  if (c.modes.length) showNotes(c.modes.find((x) => x.name === sel.value) || c.modes[0]);
}

function showNotes(m) {
  if (state && state.scenario && state.scenario.status !== "done" && state.scenario.status !== "stopped") return;
  $("sc-notes").textContent = unwrap(m.notes);
  $("sc-notes").dataset.name = m.name;
}

function renderAttrs() {
  const t = catalogue.fault_types.find((x) => x.Name === $("cf-type").value);
  const box = $("cf-attrs");
  box.textContent = "";
  $("cf-symptom").textContent = t ? t.Symptom : "";
  if (!t) return;
  for (const a of t.Attributes || []) {
    const l = el("label", "", a.Name + " ");
    let input;
    if (a.Kind === "enum") {
      input = el("select");
      for (const v of a.Values) { const o = el("option", "", v); o.value = v; input.appendChild(o); }
      if (a.Default) input.value = a.Default;
    } else {
      input = el("input");
      input.size = 8;
      input.placeholder = a.Default || (a.Required ? "required" : "");
    }
    input.dataset.attr = a.Name;
    input.title = a.Doc + " (" + a.Kind + ")";
    l.appendChild(input);
    box.appendChild(l);
  }
}

async function customFault(ev) {
  ev.preventDefault();
  $("cf-error").textContent = "";
  const kv = [];
  for (const i of $("cf-attrs").querySelectorAll("[data-attr]")) if (i.value) kv.push(i.dataset.attr + "=" + i.value);
  if ($("cf-mti").value) kv.push("mti=" + $("cf-mti").value);
  if ($("cf-count").value) kv.push("count=" + $("cf-count").value);
  if ($("cf-p").value) kv.push("p=" + $("cf-p").value);
  for (const x of $("cf-more").value.split(",")) if (x.trim()) kv.push(x.trim());
  const spec = $("cf-type").value + (kv.length ? ":" + kv.join(",") : "");
  try {
    await api("POST", "api/control/" + $("cf-side").value + "/faults", { spec });
  } catch (e) {
    $("cf-error").textContent = e.message;
  }
  refreshFaults();
}

// --- scenarios ---
function scenarioLive() {
  const v = state && state.scenario;
  return v && (v.status === "playing" || v.status === "paused");
}

async function scenario(cmd) {
  const speed = +$("speed").value;
  try {
    if (cmd === "play" || cmd === "step") {
      if (!scenarioLive() || state.scenario.name !== $("scenario").value) {
        await api("POST", "api/scenario", { name: $("scenario").value, speed, paused: cmd === "step" });
      }
      await api("POST", "api/scenario/" + cmd, {});
    } else if (scenarioLive()) {
      await api("POST", "api/scenario/" + cmd, {});
    }
  } catch (e) {
    $("sc-status").textContent = "✖ " + e.message;
  }
}

function togglePlay() {
  if (scenarioLive() && state.scenario.status === "playing") scenario("pause");
  else scenario("play");
}

// --- keyboard: a trainer's clicker sends space and the arrow keys ---
document.addEventListener("keydown", (ev) => {
  const tag = (ev.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "select" || tag === "textarea") return;
  if (ev.key === "Escape") { closeDetail(); return; }
  if (ev.key === " " && tag !== "button") { ev.preventDefault(); togglePlay(); }
  else if (ev.key === "n" || ev.key === "ArrowRight") { ev.preventDefault(); scenario("step"); }
  else if (ev.key === "p") { ev.preventDefault(); sendTx(); }
});

async function olderRows() {
  $("follow").checked = false;
  try {
    const d = await api("GET", "api/ladder?before=" + (isFinite(minN) ? minN : 0) + "&limit=200");
    oldest = d.oldest;
    for (const r of d.rows.reverse()) upsert(r);
  } catch (e) {
    $("skipped").textContent = "✖ " + e.message;
  }
  $("older").disabled = minN <= oldest;
}

async function main() {
  renderLanes();
  $("txform").addEventListener("submit", sendTx);
  $("customfault").addEventListener("submit", customFault);
  $("play").addEventListener("click", () => scenario("play"));
  $("pause").addEventListener("click", () => scenario("pause"));
  $("step").addEventListener("click", () => scenario("step"));
  $("stop").addEventListener("click", () => scenario("stop"));
  $("speed").addEventListener("change", () => { if (scenarioLive()) api("POST", "api/scenario/speed", { speed: +$("speed").value }).catch(() => {}); });
  $("older").addEventListener("click", olderRows);
  $("detail-close").addEventListener("click", closeDetail);
  $("detail").addEventListener("click", (ev) => { if (ev.target === $("detail")) closeDetail(); });
  $("follow").addEventListener("change", () => { if ($("follow").checked) flush(); });
  $("streamform").addEventListener("submit", (ev) => {
    ev.preventDefault();
    api("POST", "api/stream", { tps: Math.round((+$("msgs").value || 0) / 2) }).catch((e) => { $("stream-state").textContent = "✖ " + e.message; });
  });
  $("stream-stop").addEventListener("click", () => api("POST", "api/stream", { tps: 0 }).catch(() => {}));
  // Downloads carry the token as a header: fetch, then save.
  for (const id of ["dl-json", "dl-pcap"]) {
    $(id).addEventListener("click", async (ev) => {
      if (!token) return;
      ev.preventDefault();
      const r = await fetch($(id).getAttribute("href"), { headers: headers(false) });
      const blob = await r.blob();
      const a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = id === "dl-json" ? "possim-studio-trace.json" : "possim-studio.pcap";
      a.click();
      URL.revokeObjectURL(a.href);
    });
  }
  try {
    state = await api("GET", "api/state");
    renderState(state);
    renderCatalogue(await api("GET", "api/catalogue"));
  } catch (e) {
    $("conn").textContent = "✖ " + e.message;
  }
  refreshFaults();
  setInterval(refreshFaults, 2000);
  connect();
}

main();
