// The Prequel Portal page: plain JS, no build step. One EventSource for the whole page (the token travels in the
// prequel_token cookie, since EventSource cannot set headers); REST calls send it as a bearer token.
"use strict";

const COOKIE = "prequel_token";
const state = {
  interviews: new Map(), operations: new Map(), logs: new Map(), selected: null, source: null,
  lastEventId: "",      // the id of the last replayable event received: a reconnect resumes after it
  retryTimer: null,     // our own reconnect, once the browser gave up on the EventSource
  retries: 0,
};
const $ = (id) => document.getElementById(id);

function token() {
  const match = document.cookie.split("; ").find((c) => c.startsWith(COOKIE + "="));
  return match ? decodeURIComponent(match.split("=")[1]) : "";
}

function setToken(value) {
  const maxAge = value ? 12 * 3600 : 0;
  // Secure on https (the browser then never sends it over plain http); plain http is only the local front door
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${COOKIE}=${encodeURIComponent(value)}; path=/; max-age=${maxAge}; SameSite=Strict${secure}`;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const reply = await fetch(path, { ...options, headers });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    const error = new Error(body.error || `HTTP ${reply.status}`);
    error.status = reply.status;
    throw error;
  }
  return body;
}

const fmt = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function countdown(iso) {
  const ms = new Date(iso) - Date.now();
  if (ms <= 0) return "due now";
  const m = Math.floor(ms / 60000), h = Math.floor(m / 60);
  return h ? `in ${h} h ${m % 60} min` : `in ${m} min ${Math.floor((ms % 60000) / 1000)} s`;
}

function badge(status) {
  const span = document.createElement("span");
  span.className = `badge ${status}`;
  span.textContent = status;
  return span;
}

function renderList() {
  const body = $("interviews").querySelector("tbody");
  body.replaceChildren();
  const rows = [...state.interviews.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  $("empty").hidden = rows.length > 0;
  for (const itv of rows) {
    const tr = document.createElement("tr");
    tr.dataset.id = itv.id;
    const cells = [itv.candidateName, itv.challenge, null, fmt(itv.createdAt), fmt(itv.scheduledAt), null, null];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 2) td.append(badge(itv.status));
      else if (i === 5) {
        td.textContent = fmt(itv.autoDestroyAt);
        if (!["destroyed", "destroying"].includes(itv.status)) {
          const c = document.createElement("span");
          c.className = "countdown";
          c.dataset.deadline = itv.autoDestroyAt;
          c.textContent = countdown(itv.autoDestroyAt);
          td.append(c);
        }
      } else if (i === 6) {
        const open = document.createElement("button");
        open.type = "button";
        open.className = "link";
        open.textContent = "Details";
        open.setAttribute("aria-label", `Details of ${itv.candidateName}`);
        open.addEventListener("click", () => select(itv.id));
        td.append(open);
      } else td.textContent = text;
      tr.append(td);
    });
    body.append(tr);
  }
  renderDetail();
}

function renderDetail() {
  const itv = state.interviews.get(state.selected);
  $("detail").hidden = !itv;
  if (!itv) return;
  $("detail-title").textContent = `Interview of ${itv.candidateName}`;
  $("d-status").replaceChildren(badge(itv.status));
  $("d-url").textContent = itv.accessUrl || "not ready yet";
  $("d-url").href = itv.accessUrl || "#";
  $("d-password").textContent = itv.password || "";
  const live = !["destroying", "destroyed"].includes(itv.status);
  $("d-deadline").textContent = fmt(itv.autoDestroyAt);
  if (live) {  // ticks with the list's countdowns (the setInterval below updates every .countdown)
    const c = document.createElement("span");
    c.className = "countdown inline";
    c.dataset.deadline = itv.autoDestroyAt;
    c.textContent = countdown(itv.autoDestroyAt);
    $("d-deadline").append(" (", c, ")");
  }
  $("destroy").disabled = !live;
  $("extend").disabled = !live;
  const box = $("operations");
  box.replaceChildren();
  const ops = [...state.operations.values()].filter((op) => op.interviewId === itv.id);
  for (const op of ops.sort((a, b) => (a.startedAt || "").localeCompare(b.startedAt || ""))) {
    const wrap = document.createElement("div");
    const title = document.createElement("h4");
    title.textContent = `${op.type} — `;
    title.append(badge(op.status));
    wrap.append(title);
    if (["pending", "running"].includes(op.status) && op.type === "create") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => act(`/api/operations/${op.id}/cancel`, "Cancel this operation?"));
      wrap.append(cancel);
    }
    const pre = document.createElement("pre");
    pre.className = "log";
    pre.setAttribute("aria-label", `Log of the ${op.type} operation`);
    pre.textContent = (state.logs.get(op.id) || []).join("\n");
    wrap.append(pre);
    box.append(wrap);
    pre.scrollTop = pre.scrollHeight;
  }
}

async function select(id) {
  state.selected = id;
  const { operations } = await api(`/api/operations?interviewId=${encodeURIComponent(id)}`);
  for (const op of operations) {
    state.operations.set(op.id, op);
    state.logs.set(op.id, op.logs);
  }
  renderDetail();
  $("detail").scrollIntoView({ behavior: "smooth" });
}

async function act(path, question, body) {
  $("detail-error").textContent = "";
  if (!window.confirm(question)) return;
  try {
    await api(path, { method: "POST", body: body ? JSON.stringify(body) : undefined });
    await loadLists();
    if (state.selected) await select(state.selected);
  } catch (error) {
    $("detail-error").textContent = error.message;
  }
}

async function loadLists() {
  const [{ interviews }, { operations }] = await Promise.all([api("/api/interviews"), api("/api/operations")]);
  state.interviews = new Map(interviews.map((i) => [i.id, i]));
  for (const op of operations) {
    state.operations.set(op.id, op);
    state.logs.set(op.id, op.logs);
  }
  renderList();
}

function showConnection(text, name) {
  const conn = $("connection");
  conn.textContent = text;
  conn.className = name ? `conn ${name}` : "conn";
}

function disconnect() {
  clearTimeout(state.retryTimer);
  state.retryTimer = null;
  if (state.source) state.source.close();
  state.source = null;
}

// The browser reconnects an EventSource by itself (with Last-Event-ID) after a dropped connection, but gives up
// for good when a reconnect is answered with anything but a 200 event stream (the front door's 502 while the
// gateway is down, a 429): then the page reconnects itself, with backoff, resuming after the last event it saw.
function reconnectLater() {
  if (state.retryTimer !== null) return;
  const delay = Math.min(1000 * 2 ** state.retries, 15000) * (0.75 + Math.random() / 2);
  state.retries += 1;
  state.retryTimer = setTimeout(() => { state.retryTimer = null; connect(); }, delay);
}

function connect() {
  disconnect();
  // the cookie carries the token; after a give-up, ?lastEventId= asks the gateway to replay what was missed
  const resumeFrom = state.lastEventId;
  const url = resumeFrom ? `/api/events?lastEventId=${encodeURIComponent(resumeFrom)}` : "/api/events";
  const source = new EventSource(url);
  const resumed = state.retries > 0;
  let opened = false, sawId = false;
  state.source = source;
  source.onopen = () => {
    if (source !== state.source) return;
    showConnection("connected", "connected");
    state.retries = 0;
    // a reconnect with no event id to resume after (none seen yet) starts at the live end: what changed
    // meanwhile is only in the lists
    if ((opened || resumed) && !resumeFrom && !sawId) loadLists();
    opened = true;
  };
  source.onerror = () => {
    if (source !== state.source) return;
    showConnection("reconnecting…", "reconnecting");
    if (source.readyState === EventSource.CLOSED) reconnectLater();
  };
  source.onmessage = (message) => {
    if (source !== state.source) return;
    if (message.lastEventId) { state.lastEventId = message.lastEventId; sawId = true; }
    const event = JSON.parse(message.data);
    if (event.type === "interview_update") {
      const known = state.interviews.get(event.interview.id) || {};
      // events never carry the password: keep the one the list gave us
      state.interviews.set(event.interview.id, { ...known, ...event.interview, password: known.password });
      if (event.interview.status === "active" && !known.accessUrl) loadLists();
      renderList();
    } else if (event.type === "operation_update") {
      const known = state.operations.get(event.operation.id) || {};
      state.operations.set(event.operation.id, { ...known, ...event.operation });
      renderDetail();
    } else if (event.type === "operation_log") {
      const lines = state.logs.get(event.operationId) || [];
      for (const entry of event.lines) if (entry.id >= lines.length) lines.push(entry.line);
      state.logs.set(event.operationId, lines);
      if (state.interviews.get(state.selected)?.id === event.interviewId) renderDetail();
    } else if (event.type === "resync") {
      loadLists();
    }
  };
}

function showFieldErrors(message) {
  const fields = ["candidateName", "challenge", "scheduledAt", "autoDestroyMinutes"];
  const field = fields.find((name) => message.includes(name)) || null;
  for (const name of fields) {
    $(`${name}-error`).textContent = name === field ? message : "";
    $(name).setAttribute("aria-invalid", String(name === field));
  }
  $("form-error").textContent = field ? "" : message;
  if (field) $(field).focus();
}

async function create(event) {
  event.preventDefault();
  showFieldErrors("");
  const form = new FormData(event.target);
  const body = {
    candidateName: form.get("candidateName"),
    challenge: form.get("challenge"),
    autoDestroyMinutes: Number(form.get("autoDestroyMinutes")),
  };
  if (form.get("scheduledAt")) body.scheduledAt = new Date(form.get("scheduledAt")).toISOString();
  $("create-button").disabled = true;
  try {
    const created = await api("/api/interviews/create", { method: "POST", body: JSON.stringify(body) });
    event.target.reset();
    await loadLists();
    await select(created.interviewId);
  } catch (error) {
    showFieldErrors(error.message);
  } finally {
    $("create-button").disabled = false;
  }
}

async function start() {
  const signedIn = Boolean(token());
  $("sign-in").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  if (!signedIn) { $("token").focus(); return; }
  try {
    const { challenges } = await api("/api/challenges");
    $("challenge").replaceChildren(...challenges.map((c) => new Option(c.name, c.id)));
    await loadLists();
    connect();
  } catch (error) {
    if (error.status === 401) { setToken(""); $("token-error").textContent = "That token was refused."; start(); }
    else $("form-error").textContent = error.message;
  }
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  $("token-error").textContent = "";
  start();
});
$("sign-out").addEventListener("click", () => {
  setToken("");
  disconnect();
  state.retries = 0;
  state.lastEventId = "";
  showConnection("offline", "");
  start();
});
$("create-form").addEventListener("submit", create);
$("destroy").addEventListener("click", () =>
  act(`/api/interviews/${state.selected}/destroy`, "Destroy this interview now? The candidate loses access."));
$("extend").addEventListener("click", () =>
  act(`/api/interviews/${state.selected}/extend`, "Move the auto-destroy later?",
      { minutes: Number($("extend-minutes").value) }));
function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

// "Copied" only when the clipboard took it; without a clipboard (plain http is not a secure context) or when it
// refuses, the text is selected for the user to copy with the keyboard
async function copy(button) {
  const target = $(button.dataset.copy);
  const label = button.dataset.label || (button.dataset.label = button.textContent);
  let copied = false;
  if (navigator.clipboard && navigator.clipboard.writeText) {
    try {
      await navigator.clipboard.writeText(target.textContent);
      copied = true;
    } catch (error) {
      copied = false;
    }
  }
  if (!copied) selectText(target);
  button.textContent = copied ? "Copied" : "Selected: press Ctrl+C to copy";
  clearTimeout(button.resetTimer);
  button.resetTimer = setTimeout(() => { button.textContent = label; }, copied ? 1500 : 4000);
}

for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", () => copy(button));
}
setInterval(() => {
  for (const c of document.querySelectorAll(".countdown")) c.textContent = countdown(c.dataset.deadline);
}, 1000);
start();
