/* The console's knowledge page: the review inbox (what the bot handled badly, grouped by meaning, and questions
 * agents resolved with an FAQ suggestion), the FAQ editor (Markdown preview sanitised as in the widget, alternates,
 * audience, conflicts), the history of changes with undo, and the job that checks a change against the golden
 * questions before it is swapped in. Every text from users, agents or the knowledge is set with textContent; the
 * preview's HTML (sanitised by the server) is filtered again by console-kit.js. */
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var T = JSON.parse($("knowledge-copy").textContent);  // knowledge/messages.yaml → knowledge_page
  var ME = JSON.parse($("console-me").textContent);
  var ConsoleKit = window.ConsoleKit, safeFragment = ConsoleKit.safeFragment;
  var entries = [], categories = [], byId = {}, current = null, last = null, polling = null, tab = "inbox";

  var say = ConsoleKit.sayer(T), el = ConsoleKit.el;
  var api = ConsoleKit.client(csrf, function () { location.href = "/agent"; });
  function button(label, cls, fn) {
    var b = el("button", cls, label); b.type = "button"; b.addEventListener("click", fn); return b;
  }
  function lines(text) {
    return String(text || "").split("\n").map(function (t) { return t.trim(); }).filter(Boolean);
  }
  var fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  function when(iso) { return iso ? fmt.format(new Date(iso)) : ""; }

  // ------------------------------------------------------------------ tabs

  function show(name) {
    tab = name;
    ["inbox", "entries", "history"].forEach(function (t) {
      $("tab-" + t).setAttribute("aria-selected", String(t === name));
      $("pane-" + t).hidden = t !== name;
    });
    if (name === "inbox") loadInbox();
    if (name === "entries") loadEntries();
    if (name === "history") loadHistory();
  }
  ["inbox", "entries", "history"].forEach(function (t) {
    $("tab-" + t).addEventListener("click", function () { show(t); });
  });

  // ------------------------------------------------------------------ the job: check, guard, swap

  var STEP = { prepare: "job_prepare", index: "job_index", load: "job_load", guard: "job_guard", swap: "job_swap" };
  var KIND = { fallback: "kind_fallback", clarify: "kind_clarify", faq: "kind_faq" };
  var OUTCOME = { right: T.outcome_right, clarify_first: T.outcome_clarify_first, clarify_listed: T.outcome_clarify_listed,
    clarify_missing: T.outcome_clarify_missing, fallback: T.outcome_fallback, wrong: T.outcome_wrong,
    rejected: T.outcome_rejected, clarified: T.outcome_clarified, answered: T.outcome_answered };
  var CHANGE = { add_alternates: T.change_add_alternates, edit_entry: T.change_edit_entry, new_entry: T.change_new_entry,
    remove_entry: T.change_remove_entry, out_of_scope: T.change_out_of_scope };
  function outcome(name) { return OUTCOME[name] || name; }
  function comparisons(list, items, withExpect) {
    list.textContent = "";
    items.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("q", null, c.question));
      if (withExpect) li.appendChild(el("span", "expect", " · " + (c.expect || T.expect_none)));
      var change = el("div", "change " + (c.after === "right" || c.after === "rejected" ? "good" : "bad"),
        say("outcome_line", { before: outcome(c.before), after: outcome(c.after) }));
      li.appendChild(change);
      var answers = [c.before_answer, c.after_answer];
      if (answers[0] || answers[1]) li.appendChild(el("div", "hint", (answers[0] || "—") + " → " + (answers[1] || "—")));
      list.appendChild(li);
    });
  }
  function renderJob(job) {
    var box = $("job");
    if (!job) { box.hidden = true; return; }
    box.hidden = false;
    box.dataset.state = job.state;
    var text;
    if (job.state === "running") text = say(STEP[job.step] || "job_prepare", { done: job.done, total: job.total });
    else if (job.state === "done") text = say("job_done", { golden: job.golden });
    else if (job.state === "refused") text = say("job_refused", { n: job.regression_count });
    else text = say("job_failed", { error: job.error || "" });
    $("job-state").textContent = text;
    var bar = $("job-progress");
    bar.hidden = job.state !== "running";
    bar.max = job.total || 1; bar.value = job.total ? job.done : 0;
    $("job-regressions").hidden = job.state !== "refused";
    comparisons($("job-regression-list"), job.regressions || [], true);
    $("job-preview").hidden = !(job.preview && job.preview.length);
    comparisons($("job-preview-list"), job.preview || [], false);
    $("job-close").hidden = job.state === "running";
  }
  function follow() {
    clearTimeout(polling);
    api("GET", "/api/admin/knowledge/job").then(function (job) {
      renderJob(job);
      if (job && job.state === "running") { polling = setTimeout(follow, 600); return; }
      if (job && job.state === "done") { loadEntries(true); show(tab); }
    }).catch(function (e) { $("job-state").textContent = say("load_failed", { error: e.message }); });
  }
  // Submit a change (or an undo) and follow its job; ``request`` is kept so an admin can override a refusal.
  function submit(path, body) {
    last = { path: path, body: body };
    return api("POST", path, body).then(function (job) { renderJob(job); follow(); return job; });
  }
  function change(payload, reason) {
    return submit("/api/admin/knowledge/changes", { change: payload, reason: reason || null });
  }
  if ($("override")) {
    $("override").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reason = $("override-reason").value.trim();
      if (!last || !reason) return;
      var body = Object.assign({}, last.body, { override: true, reason: reason });
      submit(last.path, body).then(function () { $("override-reason").value = ""; })
        .catch(function (e) { $("job-state").textContent = say("action_failed", { error: e.message }); });
    });
  }
  $("job-close").addEventListener("click", function () { $("job").hidden = true; });

  // ------------------------------------------------------------------ the review inbox

  function entryPicker(candidates) {
    var box = el("fieldset", "candidates");
    box.appendChild(el("legend", null, T.candidates));
    var name = "pick-" + Math.random().toString(36).slice(2);
    var other = el("select", "other-entry");
    candidates.forEach(function (c) {
      var label = el("label");
      // nothing is picked for the editor: the bot's best guess for a question it could not answer is often wrong
      var radio = el("input"); radio.type = "radio"; radio.name = name; radio.value = c.id;
      radio.addEventListener("change", function () { other.value = ""; });
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + say("candidate_line", { question: c.question, score: c.score })));
      box.appendChild(label);
    });
    other.setAttribute("aria-label", T.other_entry);
    other.addEventListener("change", function () {
      if (other.value) box.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = false; });
    });
    var none = el("option", null, T.other_entry); none.value = ""; other.appendChild(none);
    categories.forEach(function (cat) {
      var group = el("optgroup"); group.label = cat;
      entries.filter(function (e) { return e.category === cat; }).forEach(function (e) {
        var o = el("option", null, e.question); o.value = e.id; group.appendChild(o);
      });
      other.appendChild(group);
    });
    box.appendChild(other);
    return {
      node: box,
      value: function () {
        if (other.value) return other.value;
        var picked = box.querySelector("input[type=radio]:checked");
        return picked ? picked.value : "";
      },
    };
  }

  function renderGroup(g) {
    var li = el("li", "group");
    var head = el("div", "group-head");
    head.appendChild(el("strong", "q", g.question));
    head.appendChild(el("span", "n", say("group_count", { n: g.count })));
    Object.keys(g.kinds || {}).forEach(function (k) {
      if (KIND[k]) head.appendChild(el("span", "kind " + k, say(KIND[k], { n: g.kinds[k] })));
    });
    if (g.thumbs_down) head.appendChild(el("span", "kind thumbs_down", say("kind_thumbs_down", { n: g.thumbs_down })));
    li.appendChild(head);

    var examples = el("fieldset", "examples");
    examples.appendChild(el("legend", null, T.examples));
    g.examples.forEach(function (text) {
      var label = el("label");
      var box = el("input"); box.type = "checkbox"; box.checked = true; box.value = text;
      label.appendChild(box); label.appendChild(document.createTextNode(" " + text));
      examples.appendChild(label);
    });
    li.appendChild(examples);
    var picker = entryPicker(g.candidates || []);
    li.appendChild(picker.node);
    var reason = el("input", "reason"); reason.maxLength = 1000; reason.placeholder = T.reason_placeholder;
    reason.setAttribute("aria-label", T.reason_label);
    li.appendChild(reason);
    var note = el("p", "hint note"); note.setAttribute("role", "alert");

    function picked() {
      return Array.prototype.map.call(examples.querySelectorAll("input:checked"), function (b) { return b.value; });
    }
    function run(promise) { promise.catch(function (e) { note.textContent = say("action_failed", { error: e.message }); }); }
    var row = el("div", "row actions");
    row.appendChild(button(T.add_alternates, "primary", function () {
      var texts = picked(), entry = picker.value();
      if (!texts.length) { note.textContent = T.pick_examples; return; }
      if (!entry) { note.textContent = T.pick_entry; return; }
      run(change({ kind: "add_alternates", entry_id: entry, texts: texts }, reason.value.trim()));
    }));
    row.appendChild(button(T.new_entry, null, function () {
      var texts = picked();
      if (!texts.length) { note.textContent = T.pick_examples; return; }
      openNewEntry(g.question, texts, reason.value.trim());
    }));
    row.appendChild(button(T.out_of_scope, null, function () {
      var texts = picked();
      if (!texts.length) { note.textContent = T.pick_examples; return; }
      run(change({ kind: "out_of_scope", texts: texts }, reason.value.trim()));
    }));
    row.appendChild(button(T.dismiss, "ghost", function () {
      var texts = picked();
      if (!texts.length) { note.textContent = T.pick_examples; return; }
      run(api("POST", "/api/admin/inbox/dismiss", { questions: texts }).then(loadInbox));
    }));
    li.appendChild(row);
    li.appendChild(note);
    return li;
  }

  function renderProposal(p) {
    var li = el("li", "proposal");
    li.appendChild(el("q", null, p.question));
    li.appendChild(el("span", "hint", " " + say("proposal_line", { agents: p.agents.join("、"), entry: p.entry_question, n: p.count })));
    var note = el("span", "hint note");
    li.appendChild(button(T.accept_proposal, "primary", function () {
      change({ kind: "add_alternates", entry_id: p.entry_id, texts: [p.question] }, null)
        .catch(function (e) { note.textContent = say("action_failed", { error: e.message }); });
    }));
    li.appendChild(button(T.dismiss, "ghost", function () {
      api("POST", "/api/admin/inbox/dismiss", { questions: [p.question] }).then(loadInbox)
        .catch(function (e) { note.textContent = say("action_failed", { error: e.message }); });
    }));
    li.appendChild(note);
    return li;
  }

  function loadInbox() {
    return Promise.all([loadEntries(), api("GET", "/api/admin/inbox")]).then(function (res) {
      var data = res[1];
      $("inbox-count").textContent = data.open ? String(data.open) : "";
      $("inbox-summary").textContent = data.open || (data.proposals || []).length
        ? say("inbox_open", { n: data.open, groups: data.groups.length }) : T.inbox_empty;
      var proposals = data.proposals || [];
      $("proposals").hidden = !proposals.length;
      var plist = $("proposal-list"); plist.textContent = "";
      proposals.forEach(function (p) { plist.appendChild(renderProposal(p)); });
      var list = $("groups"); list.textContent = "";
      data.groups.forEach(function (g) { list.appendChild(renderGroup(g)); });
    }).catch(function (e) { $("inbox-summary").textContent = say("load_failed", { error: e.message }); });
  }

  // ------------------------------------------------------------------ new entry (from an inbox group)

  var pendingReason = null;
  function openNewEntry(question, texts, reason) {
    var form = $("new-entry-form");
    form.reset();
    var select = $("ne-category"); select.textContent = "";
    categories.forEach(function (cat) { var o = el("option", null, cat); o.value = cat; select.appendChild(o); });
    form.elements.question.value = question;
    form.elements.alternates.value = texts.filter(function (t) { return t !== question; }).join("\n") || question;
    form.elements.reason.value = reason || "";
    $("ne-preview").textContent = ""; $("ne-note").textContent = "";
    pendingReason = reason;
    $("new-entry").showModal();
  }
  $("ne-cancel").addEventListener("click", function () { $("new-entry").close(); });
  $("new-entry-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target.elements;
    var payload = { kind: "new_entry", entry_id: f.entry_id.value.trim(), category: f.category.value,
      question: f.question.value.trim(), answer: f.answer.value, audience: f.audience.value, alternates: lines(f.alternates.value) };
    change(payload, f.reason.value.trim() || pendingReason)
      .then(function () { $("new-entry").close(); })
      .catch(function (e) { $("ne-note").textContent = say("action_failed", { error: e.message }); });
  });

  // A Markdown answer as the widget shows it: the server renders and sanitises it, console-kit.js filters again.
  function livePreview(source, target) {
    var timer = null, seq = 0;
    function update() {
      var mine = ++seq;
      api("POST", "/api/admin/knowledge/preview", { markdown: source.value }).then(function (r) {
        if (mine !== seq) return;
        target.textContent = "";
        target.appendChild(safeFragment(r.html));
      }).catch(function (e) { target.textContent = say("action_failed", { error: e.message }); });
    }
    source.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 250); });
    return update;
  }
  livePreview($("ne-answer"), $("ne-preview"));

  // ------------------------------------------------------------------ the FAQ editor

  function loadEntries(force) {
    if (entries.length && !force) { renderEntryList(); return Promise.resolve(); }
    return api("GET", "/api/admin/knowledge/entries").then(function (data) {
      entries = data.entries; categories = data.categories; byId = {};
      entries.forEach(function (e) { byId[e.id] = e; });
      renderEntryList();
    });
  }
  function renderEntryList() {
    var list = $("entry-list"), q = $("entries-filter").value.trim().toLowerCase();
    list.textContent = "";
    categories.forEach(function (cat) {
      var mine = entries.filter(function (e) {
        return e.category === cat && (!q || (e.question + " " + e.id).toLowerCase().indexOf(q) >= 0);
      });
      if (!mine.length) return;
      list.appendChild(el("li", "cat", cat));
      mine.forEach(function (e) {
        var li = el("li");
        var b = button(e.question, e.id === current ? "entry current" : "entry", function () { openEntry(e.id); });
        b.dataset.id = e.id;
        li.appendChild(b);
        list.appendChild(li);
      });
    });
  }
  $("entries-filter").addEventListener("input", renderEntryList);

  var editorPreview = livePreview($("ed-answer"), $("ed-preview"));
  var loaded = null;
  function openEntry(id) {
    current = id;
    renderEntryList();
    return api("GET", "/api/admin/knowledge/entries/" + encodeURIComponent(id)).then(function (e) {
      loaded = e;
      $("editor").hidden = false; $("editor-empty").hidden = true;
      $("editor-title").textContent = e.question;
      $("editor-updated").textContent = say("entry_updated", { time: e.updated });
      $("editor-file").textContent = say("entry_file", { file: e.source_file + " · " + e.id });
      $("ed-question").value = e.question;
      $("ed-audience").value = e.audience;
      $("ed-answer").value = e.answer;
      $("ed-alternates").value = e.alternates.filter(function (a) { return a.writer === "curated"; })
        .map(function (a) { return a.text; }).join("\n");
      var counts = {};
      e.alternates.forEach(function (a) { if (a.writer !== "curated") counts[a.writer] = (counts[a.writer] || 0) + 1; });
      $("ed-other").textContent = Object.keys(counts).map(function (w) { return say("writer_line", { writer: w, n: counts[w] }); }).join(" · ");
      $("ed-reason").value = ""; $("editor-note").textContent = "";
      renderConflicts(e.conflicts);
      editorPreview();
    }).catch(function (err) { $("editor-note").textContent = say("load_failed", { error: err.message }); });
  }
  function renderConflicts(c) {
    var list = $("ed-conflicts"); list.textContent = "";
    function names(items) { return items.map(function (i) { return "「" + i.question + "」"; }).join("、"); }
    c.source.forEach(function (s) { list.appendChild(el("li", "source", say("conflict_source", { note: s.note }))); });
    c.shared.forEach(function (s) { list.appendChild(el("li", "shared", say("conflict_shared", { text: s.text, entries: names(s.entries) }))); });
    c.elsewhere.forEach(function (s) { list.appendChild(el("li", "elsewhere", say("conflict_elsewhere", { text: s.text, question: s.question }))); });
    if (!list.children.length) list.appendChild(el("li", "none", T.conflicts_none));
  }
  $("editor").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!loaded) return;
    var payload = { kind: "edit_entry", entry_id: loaded.id };
    var question = $("ed-question").value.trim(), answer = $("ed-answer").value, audience = $("ed-audience").value;
    var curated = lines($("ed-alternates").value);
    var before = loaded.alternates.filter(function (a) { return a.writer === "curated"; }).map(function (a) { return a.text; });
    if (question !== loaded.question) payload.question = question;
    if (answer.trim() !== loaded.answer.trim()) payload.answer = answer;
    if (audience !== loaded.audience) payload.audience = audience;
    if (curated.join("\n") !== before.join("\n")) payload.alternates = curated;
    if (Object.keys(payload).length === 2) { $("editor-note").textContent = T.unchanged; return; }
    change(payload, $("ed-reason").value.trim())
      .then(function () { $("editor-note").textContent = ""; })
      .catch(function (e) { $("editor-note").textContent = say("action_failed", { error: e.message }); });
  });

  // ------------------------------------------------------------------ history

  function loadHistory() {
    return Promise.all([loadEntries(), api("GET", "/api/admin/knowledge/changes")]).then(function (res) {
      var list = $("history"); list.textContent = "";
      var rows = res[1].slice().reverse();
      if (!rows.length) list.appendChild(el("li", "hint", T.history_empty));
      rows.forEach(function (c) {
        var li = el("li", c.undone_at ? "undone" : null);
        li.appendChild(el("div", "head", say("history_line", { id: c.id, at: when(c.at), author: c.author, kind: CHANGE[c.kind] || c.kind })));
        if (c.entry_id) li.appendChild(el("div", null, say("history_entry", { entry: (byId[c.entry_id] || { question: c.entry_id }).question })));
        var texts = (c.payload && (c.payload.texts || c.payload.alternates)) || [];
        if (texts.length) li.appendChild(el("div", "texts", texts.join(" / ")));
        if (c.reason) li.appendChild(el("div", "hint", say("history_reason", { reason: c.reason })));
        if (c.undone_at) li.appendChild(el("div", "hint", say("history_undone", { by: c.undone_by, at: when(c.undone_at) })));
        else if (c.exported_at) li.appendChild(el("div", "hint", say("history_exported", { at: when(c.exported_at) })));
        else li.appendChild(button(T.undo, "ghost", function () {
          if (!confirm(say("undo_confirm", { id: c.id }))) return;
          submit("/api/admin/knowledge/changes/" + c.id + "/undo", { reason: null })
            .catch(function (e) { $("job-state").textContent = say("action_failed", { error: e.message }); $("job").hidden = false; });
        }));
        list.appendChild(li);
      });
    }).catch(function (e) { $("history").textContent = say("load_failed", { error: e.message }); });
  }

  // ------------------------------------------------------------------ start

  show("inbox");
  api("GET", "/api/admin/knowledge/job").then(function (job) {
    if (job && job.state === "running") { renderJob(job); follow(); }
  }).catch(function () {});
  if (ME.role !== "admin") document.body.classList.add("not-admin");
})();
