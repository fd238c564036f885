/* Agent console: live queue, transcript, suggested replies, send, take over / hand back, search.
 * Every string from users, agents or answers is set with textContent: nothing here parses HTML. */
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var queueEl = $("queue"), transcript = $("transcript"), suggestions = $("suggestions"), reply = $("reply");
  var current = null, items = {}, total = 0, PAGE = 50;
  // the console's words (knowledge/messages.yaml → console), written into the page by the server
  var T = JSON.parse($("console-copy").textContent);
  function say(name, values) {
    return String(T[name] || "").replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? String(values[k]) : m; });
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error("login"); }
      return r.json().then(function (data) { if (!r.ok) throw new Error(data.message || r.status); return data; });
    });
  }

  var REASON = { handoff: T.reason_handoff, fallback: T.reason_fallback, repeated_clarify: T.reason_repeated_clarify,
    thumbs_down: T.reason_thumbs_down };

  // Same order as the server: people asked for (or with a person) first, then what the bot flagged; oldest wait
  // first, so a flood of new requests never hides an old one.
  function rank(it) { return (it.handoff === "bot" ? "1" : "0") + (it.waiting_since || it.updated_at || ""); }

  function renderQueue() {
    queueEl.textContent = "";
    var list = Object.keys(items).map(function (k) { return items[k]; })
      .filter(function (it) { return it.handoff !== "bot" || it.attention; })
      .sort(function (a, b) { return rank(a) < rank(b) ? -1 : 1; });
    $("queue-count").textContent = String(Math.max(total, list.length));
    list.forEach(function (it) {
      var li = el("li");
      var b = el("button", "item" + (current === it.id ? " active" : ""));
      b.type = "button";
      b.dataset.id = it.id;
      var tag = it.handoff === "agent" ? say("with_agent", { agent: it.agent || "" }) :
        it.handoff === "requested" ? T.requested : (REASON[it.attention] || T.reason_other);
      b.appendChild(el("span", "tag " + (it.handoff === "requested" ? "hot" : it.handoff), tag));
      b.appendChild(el("span", "preview", it.last_user_message || T.no_message));
      b.appendChild(el("span", "time", say("waiting_since", { time: (it.waiting_since || it.updated_at || "").slice(11, 16),
        audience: it.audience === "provider" ? T.provider : T.buyer })));
      b.addEventListener("click", function () { openConversation(it.id); });
      li.appendChild(b);
      queueEl.appendChild(li);
    });
    if (list.length < total) {
      var more = el("button", "more", say("more", { n: total - list.length }));
      more.type = "button";
      more.addEventListener("click", function () { loadQueue(list.length); });
      var li = el("li"); li.appendChild(more); queueEl.appendChild(li);
    }
  }

  function loadQueue(offset) {
    return api("GET", "/api/agent/queue?offset=" + offset + "&limit=" + PAGE).then(function (page) {
      total = page.total;
      page.items.forEach(function (it) { items[it.id] = it; });
      renderQueue();
    });
  }

  function renderMessages(messages) {
    transcript.textContent = "";
    messages.forEach(function (m) {
      var li = el("li", m.role);
      var who = m.role === "user" ? T.user : m.role === "agent" ? say("agent", { agent: m.agent || "" }) :
        m.kind ? say("bot_kind", { kind: m.kind }) : T.bot;
      li.appendChild(el("div", "who", who + " · " + (m.created_at || "").slice(11, 19)));
      li.appendChild(el("div", "text", m.text));
      transcript.appendChild(li);
    });
    transcript.scrollTop = transcript.scrollHeight;
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
      li.appendChild(el("div", "q", say("cited_faq", { question: s.faq.question, category: s.faq.category })));
      li.appendChild(el("div", "text", s.text));
      var use = el("button", "use", T.use);
      use.type = "button";
      use.setAttribute("aria-label", say("use_label", { n: k + 1 }));
      use.addEventListener("click", function () {
        if (reply.disabled) return;
        reply.value = s.text;
        reply.focus();
      });
      li.appendChild(use);
      suggestions.appendChild(li);
    });
  }

  function openConversation(id) {
    current = id;
    renderQueue();
    return api("GET", "/api/agent/conversations/" + encodeURIComponent(id)).then(function (data) {
      var c = data.conversation;
      items[c.id] = c;
      $("chat-title").textContent = say("conversation", { id: c.id.slice(0, 8) }) + (c.handoff === "agent" ? T.in_agent_hands : "");
      $("takeover").disabled = c.handoff === "agent";
      $("release").disabled = c.handoff === "bot";
      reply.disabled = false; $("send").disabled = false;
      renderMessages(data.messages);
      var asked = data.suggestions_for;
      renderSuggestions(data.suggestions, asked ? say("suggest_for", { text: asked.text }) : T.nothing_asked);
      renderQueue();
    });
  }

  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = reply.value.trim();
    if (!current || !text) return;
    api("POST", "/api/agent/conversations/" + encodeURIComponent(current) + "/messages", { text: text })
      .then(function () { reply.value = ""; return openConversation(current); })
      .catch(function (e) { $("live").textContent = say("send_failed", { error: e.message }); });
  });
  reply.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("reply-form").requestSubmit();
  });

  function handoff(state) {
    if (!current) return;
    api("POST", "/api/agent/conversations/" + encodeURIComponent(current) + "/handoff", { state: state })
      .then(function () { return openConversation(current); });
  }
  $("takeover").addEventListener("click", function () { handoff("agent"); });
  $("release").addEventListener("click", function () { handoff("bot"); });

  $("search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("q").value.trim();
    if (!q) return;
    api("GET", "/api/agent/suggest?q=" + encodeURIComponent(q)).then(function (list) {
      renderSuggestions(list, say("search_results", { q: q }));
    });
  });

  var retry = 0;
  function connect() {
    var ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/agent");
    ws.onopen = function () { retry = 0; $("live").textContent = T.live; };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "snapshot") {
        items = {}; total = f.total;
        f.items.forEach(function (it) { items[it.id] = it; }); renderQueue();
      } else if (f.type === "queue") {
        var known = items[f.conversation.id];
        var queued = f.conversation.handoff !== "bot" || f.conversation.attention;
        if (!known && queued) total += 1;
        if (known && !queued && (known.handoff !== "bot" || known.attention)) total = Math.max(0, total - 1);
        items[f.conversation.id] = f.conversation; renderQueue();
      }
      else if (f.type === "message" && f.conversation_id === current) openConversation(current);
    };
    ws.onclose = function () {
      $("live").textContent = T.reconnecting;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry++)));
    };
  }
  connect();
})();
