/* Agent console: live queue (all / mine / unassigned), unread markers, notifications, transcript as the user saw
 * it, context, suggested and canned replies, ownership, resolve, accounts and sessions.
 * Every string from users, agents or answers is set with textContent; a bot answer's HTML (sanitised by the
 * server) is filtered again by safeFragment before it is inserted. */
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var queueEl = $("queue"), transcript = $("transcript"), suggestions = $("suggestions"), reply = $("reply");
  var T = JSON.parse($("console-copy").textContent);  // knowledge/messages.yaml → console
  var ME = JSON.parse($("console-me").textContent);
  var baseTitle = document.title;
  var current = null, currentItem = null, items = {}, reads = {}, counts = { all: 0, mine: 0, unassigned: 0 };
  var view = "all", total = 0, PAGE = 50, canned = [], history = null, cited = null;

  var say = window.ConsoleKit.sayer(T), el = window.ConsoleKit.el;  // console-kit.js, shared with knowledge.js
  var api = window.ConsoleKit.client(csrf, function () { location.reload(); });  // signed out: the sign-in form
  function fail(e) { $("live").textContent = say("action_failed", { error: e.message }); }

  // Times in the browser's own time zone, with the date.
  var fmt = new Intl.DateTimeFormat(undefined, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  function when(iso) { return iso ? fmt.format(new Date(iso)) : ""; }
  function waited(iso) {
    var mins = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
    if (!(mins >= 1)) return T.wait_just_now;
    return mins < 60 ? say("wait_minutes", { n: mins }) : say("wait_hours", { h: Math.floor(mins / 60), m: mins % 60 });
  }

  // Defence in depth, as in the widget: console-kit.js keeps only harmless elements of the server's HTML.
  var safeFragment = window.ConsoleKit.safeFragment;

  // ------------------------------------------------------------------ the queue

  var REASON = { fallback: T.reason_fallback, repeated_clarify: T.reason_repeated_clarify, thumbs_down: T.reason_thumbs_down,
    reopened: T.reason_reopened, offline_message: T.reason_offline_message };
  function queued(it) { return !it.resolved_at && (it.handoff !== "bot" || !!it.attention); }
  function inView(it, v) {
    if (!queued(it)) return false;
    if (v === "mine") return it.agent === ME.username;
    if (v === "unassigned") return !it.agent || it.handoff !== "agent";
    return true;
  }
  // Same order as the server: people asked for (or with a person) first, then what the bot flagged; oldest first.
  function rank(it) { return (it.handoff === "bot" ? "1" : "0") + (it.waiting_since || it.updated_at || ""); }
  function unread(it) { return !!it.last_user_id && it.last_user_id > (reads[it.id] || 0) && it.id !== current; }

  function updateBadges() {
    ["all", "mine", "unassigned"].forEach(function (v) { $("count-" + v).textContent = String(counts[v]); });
    var n = Object.keys(items).filter(function (k) { return queued(items[k]) && unread(items[k]); }).length;
    document.title = (n ? say("title_badge", { n: n }) : "") + baseTitle;
  }

  function queueButton(it) {
    var b = el("button", "item" + (current === it.id ? " active" : "") + (unread(it) ? " unread" : ""));
    b.type = "button";
    b.dataset.id = it.id;
    var tag = it.handoff === "agent" ? say("with_agent", { agent: it.agent_name || it.agent || "" }) :
      it.attention === "offline_message" ? T.reason_offline_message :
      it.handoff === "requested" ? T.requested : (REASON[it.attention] || T.reason_other);
    var head = el("span", "line");
    head.appendChild(el("span", "tag " + (it.handoff === "requested" || it.attention === "offline_message" ? "hot" : it.handoff), tag));
    if (unread(it)) head.appendChild(el("span", "dot", T.unread));
    b.appendChild(head);
    b.appendChild(el("span", "preview", it.last_user_message || T.no_message));
    var audience = it.audience === "provider" ? T.provider : T.buyer;
    var time = it.resolved_at ? say("resolved_at", { time: when(it.resolved_at) }) :
      say("waited", { wait: waited(it.waiting_since || it.updated_at), audience: audience });
    var t = el("span", "time", time);
    t.title = when(it.waiting_since || it.updated_at);
    b.appendChild(t);
    b.addEventListener("click", function () { openConversation(it.id); });
    return b;
  }

  function renderQueue() {
    queueEl.textContent = "";
    updateBadges();
    if (history) {
      history.items.forEach(function (it) { var li = el("li"); li.appendChild(queueButton(it)); queueEl.appendChild(li); });
      return;
    }
    var list = Object.keys(items).map(function (k) { return items[k]; })
      .filter(function (it) { return inView(it, view); })
      .sort(function (a, b) { return rank(a) < rank(b) ? -1 : 1; });
    if (!list.length) queueEl.appendChild(el("li", "empty", T.queue_empty));
    list.forEach(function (it) { var li = el("li"); li.appendChild(queueButton(it)); queueEl.appendChild(li); });
    if (list.length < total) {
      var more = el("button", "more", say("more", { n: total - list.length }));
      more.type = "button";
      more.addEventListener("click", function () { loadQueue(list.length); });
      var li = el("li"); li.appendChild(more); queueEl.appendChild(li);
    }
  }

  function takePage(page) {
    total = page.total; counts = page.counts;
    page.items.forEach(function (it) { items[it.id] = it; });
    Object.keys(page.reads || {}).forEach(function (k) { reads[k] = Math.max(reads[k] || 0, page.reads[k]); });
  }
  function loadQueue(offset) {
    return api("GET", "/api/agent/queue?view=" + view + "&offset=" + offset + "&limit=" + PAGE).then(function (page) {
      takePage(page); renderQueue();
    });
  }
  var refreshTimer = null;
  function refreshSoon() {  // counts and reads from the server, at most a few times a second
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { loadQueue(0).catch(fail); }, 300);
  }

  document.querySelectorAll(".views [role=tab]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      view = tab.dataset.view; history = null; $("history-head").hidden = true;
      document.querySelectorAll(".views [role=tab]").forEach(function (t) { t.setAttribute("aria-selected", String(t === tab)); });
      loadQueue(0).catch(fail);
    });
  });
  $("history").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("history-q").value.trim();
    if (!q) return;
    api("GET", "/api/agent/search?status=resolved&q=" + encodeURIComponent(q)).then(function (found) {
      history = { q: q, items: found };
      $("history-title").textContent = say("history_results", { q: q, n: found.length });
      $("history-head").hidden = false;
      renderQueue();
    }).catch(fail);
  });
  $("history-back").addEventListener("click", function () { history = null; $("history-head").hidden = true; renderQueue(); });
  setInterval(renderQueue, 30000);  // waiting times move on

  // ------------------------------------------------------------------ attention: notifications and sound

  var notifyBtn = $("notify");
  function notifyState() {
    if (!("Notification" in window)) { notifyBtn.textContent = T.notify_unsupported; notifyBtn.disabled = true; return; }
    var p = Notification.permission;
    notifyBtn.textContent = p === "granted" ? T.notify_enabled : p === "denied" ? T.notify_denied : T.notify_on;
    notifyBtn.disabled = p !== "default";
  }
  notifyBtn.addEventListener("click", function () {  // permission is asked for on a click, never on load
    if (!("Notification" in window)) return;
    Promise.resolve(Notification.requestPermission()).then(notifyState);
  });
  notifyState();
  var soundBox = $("sound");
  try { soundBox.checked = localStorage.getItem("faqbot-console-sound") === "1"; } catch (e) { /* storage blocked */ }
  soundBox.addEventListener("change", function () {
    try { localStorage.setItem("faqbot-console-sound", soundBox.checked ? "1" : "0"); } catch (e) { /* ignore */ }
  });
  var audio = null;
  function beep() {
    if (!soundBox.checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.18);
    } catch (e) { /* no audio */ }
  }
  function announce(it, before) {
    var fresh = it.handoff === "requested" && (!before || before.handoff !== "requested");
    var left = it.attention === "offline_message" && (!before || before.attention !== "offline_message");
    if (!fresh && !left) return;
    beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(left ? T.notify_offline : T.notify_title, { body: it.last_user_message || "", tag: "faqbot-" + it.id });
      n.onclick = function () { window.focus(); openConversation(it.id); };
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  // ------------------------------------------------------------------ one conversation

  function renderMessages(messages) {
    transcript.textContent = "";
    messages.forEach(function (m) {
      var li = el("li", m.role);
      var who = m.role === "user" ? T.user : m.role === "agent" ? say("agent", { agent: m.agent_name || m.agent || "" }) :
        m.role === "note" ? T.note : m.kind ? say("bot_kind", { kind: m.kind }) : T.bot;
      var head = el("div", "who", who + " · " + when(m.created_at));
      head.title = m.created_at;
      li.appendChild(head);
      var body = el("div", "text");
      if (m.role === "bot" && m.html) { body.classList.add("md"); body.appendChild(safeFragment(m.html)); }
      else body.textContent = m.text;
      li.appendChild(body);
      transcript.appendChild(li);
    });
    transcript.scrollTop = transcript.scrollHeight;
  }

  function dd(dl, label, value) {
    dl.appendChild(el("dt", null, label));
    var d = el("dd");
    if (value instanceof Node) d.appendChild(value); else d.textContent = value;
    dl.appendChild(d);
  }
  function renderContext(ctx) {
    var dl = $("context");
    dl.textContent = "";
    if (!ctx) return;
    dd(dl, T.ctx_audience, ctx.audience === "provider" ? T.provider : T.buyer);
    var o = ctx.order;
    dd(dl, T.ctx_order, o ? say("ctx_order_line", { id: o.id || "?", type: o.product_type || "?", day: o.purchased_on || "?" }) : T.ctx_no_order);
    var rules = el("ul", "rules");
    (ctx.rules || []).forEach(function (r) {
      var decision = r.decision || say("decision_none", { missing: (r.missing || []).join("、") });
      var li = el("li", null, say("ctx_rule_line", { rule: r.rule, decision: decision }));
      if (r.dates && r.dates.end) li.appendChild(el("span", "dates", " (" + (r.dates.start || "") + " → " + r.dates.end + ")"));
      if (r.cites && r.cites.length) li.appendChild(el("div", "cites", say("cited_faq_short", { questions: r.cites.join(" / ") })));
      rules.appendChild(li);
    });
    dd(dl, T.ctx_rules, (ctx.rules || []).length ? rules : T.ctx_no_rules);
    if (ctx.contact) dd(dl, T.ctx_contact, ctx.contact);
    if (ctx.csat) dd(dl, T.ctx_csat, say("ctx_csat_line", { score: ctx.csat.score, comment: ctx.csat.comment || "" }));
    dd(dl, T.ctx_started, when(ctx.created_at));
  }

  function ownedByOther(c) { return c.handoff === "agent" && c.agent && c.agent !== ME.username; }
  function renderHead(c) {
    currentItem = c;
    $("chat-title").textContent = say("conversation", { id: c.id.slice(0, 8) });
    $("owner").textContent = c.resolved_at ? say("resolved_at", { time: when(c.resolved_at) }) :
      c.agent && c.handoff === "agent" ? say("owner", { agent: c.agent_name || c.agent }) : T.owner_none;
    var mine = c.handoff === "agent" && c.agent === ME.username;
    $("takeover").disabled = mine;
    $("release").disabled = c.handoff === "bot" || (ownedByOther(c) && ME.role !== "admin");
    $("resolve").disabled = !!c.resolved_at || (ownedByOther(c) && ME.role !== "admin");
    var blocked = ownedByOther(c);
    reply.disabled = blocked; $("send").disabled = blocked;
    $("reply-note").textContent = blocked ? say("owned_by_other", { agent: c.agent_name || c.agent }) : "";
    var assign = $("assign");
    if (assign) assign.disabled = false;
  }

  function renderSuggestions(list, title) {
    $("suggest-title").textContent = title;
    suggestions.textContent = "";
    if (!list.length) suggestions.appendChild(el("li", "empty", T.no_suggestions));
    list.forEach(function (s, k) {
      var li = el("li", "suggestion");
      var head = el("div", "head");
      head.appendChild(el("span", "kind " + s.kind, s.kind === "rule" ? T.kind_rule : T.kind_faq));
      head.appendChild(el("span", "score", say("confidence", { percent: Math.round(s.score * 100) })));
      li.appendChild(head);
      var q = el("a", "q", say("cited_faq", { question: s.faq.question, category: s.faq.category }));
      q.href = "/faq/" + encodeURIComponent(s.faq.id); q.target = "_blank"; q.rel = "noopener";
      li.appendChild(q);
      li.appendChild(el("div", "text", s.text));
      var use = el("button", "use", T.use);
      use.type = "button";
      use.setAttribute("aria-label", say("use_label", { n: k + 1 }));
      use.addEventListener("click", function () {
        if (reply.disabled) return;
        // what a person would write: the answer in plain words, then the entry's page for the details
        var link = location.origin + "/faq/" + encodeURIComponent(s.faq.id);
        reply.value = s.text + "\n\n" + say("see_faq", { url: link });
        cited = { id: s.faq.id, link: link };
        reply.focus();
      });
      li.appendChild(use);
      suggestions.appendChild(li);
    });
  }

  function openConversation(id) {
    if (current !== id) cited = null;
    current = id;
    renderQueue();
    return api("GET", "/api/agent/conversations/" + encodeURIComponent(id)).then(function (data) {
      if (current !== id) return;
      var c = data.conversation;
      items[c.id] = Object.assign(items[c.id] || {}, c);
      if (c.last_user_id) reads[c.id] = Math.max(reads[c.id] || 0, c.last_user_id);
      renderHead(c);
      renderMessages(data.messages);
      renderContext(data.context);
      var asked = data.suggestions_for;
      renderSuggestions(data.suggestions, asked ? say("suggest_for", { text: asked.text }) : T.nothing_asked);
      renderQueue();
    }).catch(fail);
  }

  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = reply.value.trim();
    if (!current || !text) return;
    // the reply cites the FAQ entry whose suggestion it was built from while it still links to it: when the
    // conversation is resolved, the knowledge page proposes the user's question as an alternate of that entry
    var body = { text: text };
    if (cited && text.indexOf(cited.link) >= 0) body.cites = cited.id;
    api("POST", "/api/agent/conversations/" + encodeURIComponent(current) + "/messages", body)
      .then(function () { reply.value = ""; cited = null; return openConversation(current); })
      .catch(function (e) { $("live").textContent = say("send_failed", { error: e.message }); });
  });

  function act(path, body) {
    if (!current) return;
    api("POST", "/api/agent/conversations/" + encodeURIComponent(current) + path, body || {})
      .then(function () { return openConversation(current); }).catch(fail);
  }
  $("takeover").addEventListener("click", function () {
    var c = currentItem;
    if (c && ownedByOther(c)) {
      if (!window.confirm(say("take_from_confirm", { agent: c.agent_name || c.agent }))) return;
      act("/handoff", { state: "agent", force: true });
    } else act("/handoff", { state: "agent" });
  });
  $("release").addEventListener("click", function () { act("/handoff", { state: "bot" }); });
  $("resolve").addEventListener("click", function () { act("/resolve"); });

  $("search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("q").value.trim();
    if (!q) return;
    api("GET", "/api/agent/suggest?q=" + encodeURIComponent(q)).then(function (list) {
      renderSuggestions(list, say("search_results", { q: q }));
    }).catch(fail);
  });

  // ------------------------------------------------------------------ canned responses and the "/" shortcut

  var popup = $("canned-popup"), popupIndex = 0, popupMatches = [];
  function renderCanned() {
    var ul = $("canned");
    ul.textContent = "";
    if (!canned.length) ul.appendChild(el("li", "empty", T.canned_none));
    canned.forEach(function (c) {
      var li = el("li");
      var b = el("button", "canned-item");
      b.type = "button";
      b.appendChild(el("strong", null, c.title));
      b.appendChild(el("span", null, c.text));
      b.addEventListener("click", function () { if (!reply.disabled) { insertCanned(c, null); } });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }
  function loadCanned() { return api("GET", "/api/agent/canned").then(function (list) { canned = list; renderCanned(); renderCannedEditor(); }); }
  function slashQuery() {  // "/xx" typed at the start or after a space, up to the caret
    var upto = reply.value.slice(0, reply.selectionStart);
    var m = /(^|\s)\/([^\s/]*)$/.exec(upto);
    return m ? { query: m[2], start: upto.length - m[2].length - 1 } : null;
  }
  function insertCanned(c, slash) {
    var v = reply.value;
    if (slash) reply.value = v.slice(0, slash.start) + c.text + v.slice(reply.selectionStart);
    else reply.value = v ? v.replace(/\s*$/, "") + "\n" + c.text : c.text;
    closePopup();
    reply.focus();
  }
  function closePopup() { popup.hidden = true; popupMatches = []; reply.setAttribute("aria-expanded", "false"); }
  function showPopup() {
    var s = slashQuery();
    if (!s) { closePopup(); return; }
    var q = s.query.toLowerCase();
    popupMatches = canned.filter(function (c) { return !q || (c.title + " " + c.text).toLowerCase().indexOf(q) >= 0; }).slice(0, 8);
    popup.textContent = "";
    if (!popupMatches.length) { closePopup(); return; }
    popupIndex = Math.min(popupIndex, popupMatches.length - 1);
    popupMatches.forEach(function (c, k) {
      var li = el("li", k === popupIndex ? "on" : null);
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(k === popupIndex));
      li.appendChild(el("strong", null, c.title));
      li.appendChild(el("span", null, c.text));
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); insertCanned(c, slashQuery()); });
      popup.appendChild(li);
    });
    popup.hidden = false;
    reply.setAttribute("aria-expanded", "true");
  }
  reply.addEventListener("input", function () { popupIndex = 0; showPopup(); });
  reply.addEventListener("keydown", function (ev) {
    if (!popup.hidden && popupMatches.length) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        popupIndex = (popupIndex + (ev.key === "ArrowDown" ? 1 : popupMatches.length - 1)) % popupMatches.length;
        showPopup(); return;
      }
      if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); insertCanned(popupMatches[popupIndex], slashQuery()); return; }
      if (ev.key === "Escape") { ev.preventDefault(); closePopup(); return; }
    }
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("reply-form").requestSubmit();
  });
  reply.addEventListener("blur", function () { setTimeout(closePopup, 150); });

  function renderCannedEditor() {
    var list = $("canned-edit-list");
    if (!list) return;
    list.textContent = "";
    canned.forEach(function (c) {
      var li = el("li");
      var edit = el("button", "link", c.title);
      edit.type = "button";
      edit.addEventListener("click", function () {
        var f = $("canned-form");
        f.elements.id.value = String(c.id); f.elements.title.value = c.title; f.elements.text.value = c.text;
      });
      var del = el("button", "link danger", T.canned_delete);
      del.type = "button";
      del.addEventListener("click", function () {
        if (!window.confirm(say("canned_delete_confirm", { title: c.title }))) return;
        api("POST", "/api/agent/canned/" + c.id + "/delete").then(loadCanned).catch(fail);
      });
      li.appendChild(edit); li.appendChild(del);
      list.appendChild(li);
    });
  }
  if ($("canned-manage")) {
    $("canned-manage").addEventListener("click", function () { $("canned-dialog").showModal(); });
    $("canned-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target, id = f.elements.id.value;
      api("POST", "/api/agent/canned" + (id ? "/" + id : ""), { title: f.elements.title.value, text: f.elements.text.value })
        .then(function () { f.reset(); f.elements.id.value = ""; return loadCanned(); }).catch(fail);
    });
  }

  // ------------------------------------------------------------------ sessions and the team

  document.querySelectorAll(".close-dialog").forEach(function (b) { b.addEventListener("click", function () { b.closest("dialog").close(); }); });
  function loadSessions() {
    return api("GET", "/api/agent/sessions").then(function (rows) {
      var ul = $("sessions-list");
      ul.textContent = "";
      rows.forEach(function (r) {
        ul.appendChild(el("li", r.current ? "current" : null, say("session_line", { address: r.address || "?", created: when(r.created_at),
          seen: r.last_seen_at ? when(r.last_seen_at) : "—" }) + (r.current ? T.session_current : "")));
      });
    });
  }
  $("sessions-open").addEventListener("click", function () { loadSessions().then(function () { $("sessions-dialog").showModal(); }).catch(fail); });
  $("sign-out-others").addEventListener("click", function () { api("POST", "/api/agent/sessions/sign-out", { everywhere: false }).then(loadSessions).catch(fail); });
  $("sign-out-all").addEventListener("click", function () {
    api("POST", "/api/agent/sessions/sign-out", { everywhere: true }).then(function () { location.reload(); }).catch(fail);
  });

  var accounts = [];
  function loadTeam() {
    return api("GET", "/api/agent/accounts").then(function (rows) {
      accounts = rows;
      var assign = $("assign");
      if (assign) {
        while (assign.options.length > 1) assign.remove(1);
        rows.filter(function (a) { return !a.disabled; }).forEach(function (a) {
          var o = el("option", null, a.display_name + " (" + a.username + ")"); o.value = a.username; assign.appendChild(o);
        });
      }
      var body = $("team-list");
      if (!body) return;
      body.textContent = "";
      rows.forEach(function (a) {
        var tr = el("tr", a.disabled ? "disabled" : null);
        tr.appendChild(el("td", null, a.username));
        tr.appendChild(el("td", null, a.display_name));
        tr.appendChild(el("td", null, a.role === "admin" ? T.role_admin : T.role_agent));
        var editor = el("td");
        if (a.role !== "admin") {  // an admin edits the knowledge anyway
          var box = el("input"); box.type = "checkbox"; box.checked = !!a.knowledge_editor;
          box.setAttribute("aria-label", say("team_editor_label", { username: a.username }));
          box.addEventListener("change", function () {
            api("POST", "/api/agent/accounts/" + encodeURIComponent(a.username), { knowledge_editor: box.checked }).then(loadTeam).catch(fail);
          });
          var lab = el("label", "editor-perm"); lab.appendChild(box); lab.appendChild(document.createTextNode(" " + T.team_editor));
          editor.appendChild(lab);
        }
        tr.appendChild(editor);
        tr.appendChild(el("td", null, a.disabled ? T.team_disabled : say("team_sessions", { n: a.sessions })));
        var td = el("td", "row");
        function button(label, fn) { var b = el("button", null, label); b.type = "button"; b.addEventListener("click", fn); td.appendChild(b); }
        if (a.username !== ME.username) {
          button(a.disabled ? T.team_enable : T.team_disable, function () {
            api("POST", "/api/agent/accounts/" + encodeURIComponent(a.username), { disabled: !a.disabled }).then(loadTeam).catch(fail);
          });
          button(T.team_sign_out, function () {
            api("POST", "/api/agent/accounts/" + encodeURIComponent(a.username) + "/sign-out").then(loadTeam).catch(fail);
          });
        }
        button(T.team_reset, function () {
          api("POST", "/api/agent/accounts/" + encodeURIComponent(a.username) + "/password").then(function (r) {
            $("team-secret").textContent = say("team_password", { username: r.username, password: r.password });
            return loadTeam();
          }).catch(fail);
        });
        tr.appendChild(td);
        body.appendChild(tr);
      });
    });
  }
  if ($("team-open")) {
    $("team-open").addEventListener("click", function () { $("team-secret").textContent = ""; loadTeam().then(function () { $("team-dialog").showModal(); }).catch(fail); });
    $("team-add").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target;
      api("POST", "/api/agent/accounts", { username: f.elements.username.value, display_name: f.elements.display_name.value, role: f.elements.role.value })
        .then(function (r) {
          $("team-secret").textContent = say("team_password", { username: r.username, password: r.password });
          f.reset();
          return loadTeam();
        }).catch(function (e) { $("team-secret").textContent = say("action_failed", { error: e.message }); });
    });
    $("assign").addEventListener("change", function (ev) {
      var who = ev.target.value;
      ev.target.value = "";
      if (who) act("/assign", { username: who });
    });
    loadTeam().catch(fail);
  }

  // ------------------------------------------------------------------ live

  var retry = 0;
  function connect() {
    var ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/agent");
    ws.onopen = function () { retry = 0; $("live").textContent = T.live; };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "snapshot") {
        items = {}; takePage(f); if (view !== "all") loadQueue(0).catch(fail); renderQueue();
      } else if (f.type === "queue") {
        var before = items[f.conversation.id];
        items[f.conversation.id] = f.conversation;
        announce(f.conversation, before);
        if (f.conversation.id === current) renderHead(f.conversation);
        renderQueue();
        refreshSoon();
      } else if (f.type === "message" && f.conversation_id === current) openConversation(current);
    };
    ws.onclose = function () {
      $("live").textContent = T.reconnecting;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry++)));
    };
  }
  loadCanned().catch(fail);
  connect();
})();
