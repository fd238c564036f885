/* Agent console: live queue, transcript, suggested replies, send, take over / hand back, search.
 * Every string from users, agents or answers is set with textContent: nothing here parses HTML. */
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var queueEl = $("queue"), transcript = $("transcript"), suggestions = $("suggestions"), reply = $("reply");
  var current = null, items = {}, total = 0, PAGE = 50;

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

  var REASON = { handoff: "请求人工", fallback: "机器人未能回答", repeated_clarify: "多次澄清", thumbs_down: "差评" };

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
      var tag = it.handoff === "agent" ? "人工处理中 · " + (it.agent || "") :
        it.handoff === "requested" ? "请求人工" : (REASON[it.attention] || "需关注");
      b.appendChild(el("span", "tag " + (it.handoff === "requested" ? "hot" : it.handoff), tag));
      b.appendChild(el("span", "preview", it.last_user_message || "（无消息）"));
      b.appendChild(el("span", "time", "等待自 " + (it.waiting_since || it.updated_at || "").slice(11, 16) + " UTC · " +
        (it.audience === "provider" ? "服务商" : "买家")));
      b.addEventListener("click", function () { openConversation(it.id); });
      li.appendChild(b);
      queueEl.appendChild(li);
    });
    if (list.length < total) {
      var more = el("button", "more", "加载更多（还有 " + (total - list.length) + " 个）");
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
      var who = m.role === "user" ? "用户" : m.role === "agent" ? "人工 · " + (m.agent || "") : "机器人" + (m.kind ? " · " + m.kind : "");
      li.appendChild(el("div", "who", who + " · " + (m.created_at || "").slice(11, 19)));
      li.appendChild(el("div", "text", m.text));
      transcript.appendChild(li);
    });
    transcript.scrollTop = transcript.scrollHeight;
  }

  function renderSuggestions(list, title) {
    $("suggest-title").textContent = title;
    suggestions.textContent = "";
    if (!list.length) suggestions.appendChild(el("li", "empty", "没有找到合适的建议。"));
    list.forEach(function (s, k) {
      var li = el("li", "suggestion");
      var head = el("div", "head");
      head.appendChild(el("span", "kind " + s.kind, s.kind === "rule" ? "规则结论" : "FAQ"));
      head.appendChild(el("span", "score", "置信度 " + Math.round(s.score * 100) + "%"));
      li.appendChild(head);
      li.appendChild(el("div", "q", "「" + s.faq.question + "」· " + s.faq.category));
      li.appendChild(el("div", "text", s.text));
      var use = el("button", "use", "使用此回复");
      use.type = "button";
      use.setAttribute("aria-label", "使用建议回复 " + (k + 1));
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
      $("chat-title").textContent = "会话 " + c.id.slice(0, 8) + (c.handoff === "agent" ? "（人工处理中）" : "");
      $("takeover").disabled = c.handoff === "agent";
      $("release").disabled = c.handoff === "bot";
      reply.disabled = false; $("send").disabled = false;
      renderMessages(data.messages);
      var asked = data.suggestions_for;
      renderSuggestions(data.suggestions, asked ? "建议回复 · 针对用户的问题：「" + asked.text + "」" :
        "用户还没有提出具体问题");
      renderQueue();
    });
  }

  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = reply.value.trim();
    if (!current || !text) return;
    api("POST", "/api/agent/conversations/" + encodeURIComponent(current) + "/messages", { text: text })
      .then(function () { reply.value = ""; return openConversation(current); })
      .catch(function (e) { $("live").textContent = "发送失败：" + e.message; });
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
      renderSuggestions(list, "“" + q + "”的建议回复");
    });
  });

  var retry = 0;
  function connect() {
    var ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/agent");
    ws.onopen = function () { retry = 0; $("live").textContent = "● 实时连接"; };
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
      $("live").textContent = "连接中断，正在重连…";
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry++)));
    };
  }
  connect();
})();
