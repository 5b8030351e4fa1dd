// Skein's one script: it only enhances pages that work without it.
// Local times, row links, expanding values, lazy waterfalls, live updates (server-sent
// events), the replay's playback, and keyboard navigation. Hand-written, no dependencies.
(function () {
  "use strict";

  var $ = function (selector, root) { return (root || document).querySelector(selector); };
  var $$ = function (selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); };

  // -- Times ---------------------------------------------------------------------------------

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function localTime(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      " " + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function relativeTime(date) {
    var seconds = Math.max(0, (Date.now() - date.getTime()) / 1000);
    if (seconds < 45) return "just now";
    if (seconds < 3600) return Math.max(1, Math.round(seconds / 60)) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function localiseTimes(root) {
    $$("time[datetime]", root).forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.title = localTime(date) + " (" + el.getAttribute("datetime") + ")";
      el.textContent = el.hasAttribute("data-relative") ? relativeTime(date) : localTime(date);
    });
  }

  // -- Small behaviours ------------------------------------------------------------------------

  function enhance(root) {
    localiseTimes(root);
    $$("[data-expand]", root).forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        expand(link);
      });
    });
    $$("details[data-src]", root).forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (details.open) loadWaterfall(details);
      });
    });
    $$("form.star-form", root).forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        toggleStar(form);
      });
    });
    $$("form[data-confirm]", root).forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function expand(link) {
    var body = link.parentNode.querySelector(".clip-body");
    link.textContent = "Loading…";
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (text) {
      body.textContent = text;
      body.classList.add("expanded");
      link.remove();
    }).catch(function () { link.textContent = "Could not load the full value"; });
  }

  function loadWaterfall(details) {
    if (details.getAttribute("data-loaded")) return;
    details.setAttribute("data-loaded", "1");
    var slot = $(".waterfall-slot", details);
    fetch(details.getAttribute("data-src"), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      slot.innerHTML = html;
      enhance(slot);
    }).catch(function () {
      details.removeAttribute("data-loaded");
    });
  }

  function toggleStar(form) {
    var on = form.elements.on.value === "1";
    var body = new URLSearchParams(new FormData(form));
    body.set("fetch", "1");
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { form.submit(); return; }
      form.elements.on.value = on ? "0" : "1";
      var button = $("button", form);
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (button.classList.contains("star-button")) {
        button.innerHTML = '<span class="star-glyph">★</span> ' + (on ? "Bookmarked" : "Bookmark");
      } else {
        button.title = on ? "Remove bookmark" : "Bookmark this session";
      }
    });
  }

  // The session page's edit menu: how many turns "Move" would take; menus close on an outside click.
  function countSelectedTurns() {
    var count = $$("[data-move-select]:checked").length;
    $$("[data-move-count]").forEach(function (label) {
      label.textContent = count ? count + " selected turn" + (count > 1 ? "s" : "") : "selected";
    });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest(".turn-select")) return;  // selecting turns for the open menu
    $$("details.menu[open], details.turn-split[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-autosubmit]")) target.form.submit();
    if (target.matches("[data-move-select]")) countSelectedTurns();
    if (target.matches("[data-range]")) {
      $$(".custom-range", target.form).forEach(function (field) {
        if (target.value === "custom") field.removeAttribute("data-hidden");
        else field.setAttribute("data-hidden", "");
      });
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    var copy = target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.textContent.trim());
      copy.classList.add("flash");
    }
    var row = target.closest("tr[data-href]");
    if (row && !target.closest("a, button, input, select, textarea, label, form")) {
      if (event.metaKey || event.ctrlKey) window.open(row.getAttribute("data-href"));
      else window.location.href = row.getAttribute("data-href");
    }
    var wfRow = target.closest(".trace-tree .wf-row");
    if (wfRow && !(event.metaKey || event.ctrlKey || event.shiftKey)) {
      event.preventDefault();
      selectObservation(wfRow);
    }
  });

  // -- Trace view: observation detail without a page load ---------------------------------------

  function selectObservation(row) {
    var detail = $("[data-detail]");
    if (!detail) return;
    var tree = row.closest(".waterfall");
    var url = "/traces/" + tree.getAttribute("data-trace") + "/observations/" + row.getAttribute("data-observation");
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      detail.innerHTML = html;
      enhance(detail);
      $$(".wf-row.selected", tree).forEach(function (el) { el.classList.remove("selected"); el.removeAttribute("aria-current"); });
      row.classList.add("selected");
      row.setAttribute("aria-current", "true");
      history.replaceState(null, "", row.getAttribute("href").replace(/#.*$/, ""));
      if (window.innerWidth < 1100) detail.scrollIntoView({ behavior: "smooth", block: "start" });
    }).catch(function () { window.location.href = row.href; });
  }

  // -- Live updates ----------------------------------------------------------------------------

  function live(container, onChange) {
    if (!window.EventSource) return;
    var status = $("[data-live-status]");
    var url = container.getAttribute("data-live");
    var since = container.getAttribute("data-live-since");
    if (since) url += (url.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(since);
    var source = new EventSource(url);
    source.addEventListener("open", function () {
      if (status) { status.hidden = false; status.classList.remove("stale"); }
    });
    source.addEventListener("error", function () {
      if (status) status.classList.add("stale");
    });
    source.addEventListener("change", function (event) {
      var data = JSON.parse(event.data);
      container.setAttribute("data-live-since", data.version);
      onChange(data.version);
    });
  }

  function fetchPage(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  function liveSessionsList() {
    var wrap = $(".table-wrap[data-live]");
    if (!wrap) return;
    live(wrap, function () {
      if (wrap.getAttribute("data-live-auto") !== "true") return;
      fetchPage(window.location.pathname + window.location.search).then(function (doc) {
        var fresh = $("[data-live-rows]", doc);
        var current = $("[data-live-rows]", wrap);
        if (!fresh || !current) return;
        var before = {};
        $$("tr[data-href]", current).forEach(function (tr) { before[tr.getAttribute("data-href")] = tr.textContent; });
        current.replaceWith(fresh);
        enhance(fresh);
        $$("tr[data-href]", fresh).forEach(function (tr) {
          if (before[tr.getAttribute("data-href")] !== tr.textContent) tr.classList.add("flash");
        });
        var pager = $(".pager", doc);
        if (pager && $(".pager")) $(".pager").replaceWith(pager);
      });
    });
  }

  function liveSession(replay) {
    var turns = $("[data-turns]");
    if (!turns || !turns.hasAttribute("data-live")) return;
    live(turns, function () {
      fetchPage(window.location.pathname + "?page=" + turns.getAttribute("data-page")).then(function (doc) {
        ["dl.stats", "dl.facts.inline", ".scores-row"].forEach(function (selector) {
          var fresh = $(selector, doc);
          var current = $(".session-head " + selector);
          if (fresh && current) { current.replaceWith(fresh); enhance(fresh); }
        });
        var freshTurns = $("[data-turns]", doc);
        if (!freshTurns) return;
        mergeTurns(turns, freshTurns, replay);
        ["data-pages", "data-total", "data-next-page"].forEach(function (name) {
          turns.setAttribute(name, freshTurns.getAttribute(name) || "");
        });
        var pagers = $$(".pager", doc);
        $$(".replay-main > .pager").forEach(function (pager, i) { if (pagers[i]) pager.replaceWith(pagers[i]); });
        if (!$(".replay-main > .pager") && pagers.length) {
          turns.parentNode.insertBefore(pagers[0], turns);
          turns.parentNode.appendChild(pagers[pagers.length - 1]);
        }
        replay.refresh();
      });
    });
  }

  function mergeTurns(turns, freshTurns, replay) {
    $$("article.turn", freshTurns).forEach(function (fresh) {
      var current = document.getElementById(fresh.id);
      if (current && current.getAttribute("data-version") === fresh.getAttribute("data-version")) return;
      var gap = fresh.previousElementSibling && fresh.previousElementSibling.classList.contains("gap") ? fresh.previousElementSibling : null;
      if (current) {
        fresh.className = current.className.replace(/\bflash\b/, "");
        current.replaceWith(fresh);
      } else {
        if (gap) turns.appendChild(gap);
        turns.appendChild(fresh);
        var empty = $("p.empty", turns);
        if (empty) empty.remove();
        if (replay.playing) { fresh.classList.add("future"); if (gap) gap.classList.add("future"); }
      }
      fresh.classList.add("flash");
      enhance(fresh);
      if (gap && !current) enhance(gap);
    });
  }

  // -- Replay playback -------------------------------------------------------------------------

  var MAX_TURN_WAIT_MS = 6000;
  var MAX_GAP_WAIT_MS = 3000;
  var MIN_WAIT_MS = 350;

  function Replay(turnsEl) {
    this.turnsEl = turnsEl;
    this.bar = $("[data-playback]");
    this.index = -1;
    this.playing = false;
    this.timer = null;
    this.refresh();
  }

  Replay.prototype.refresh = function () {
    this.turns = $$("article.turn", this.turnsEl);
    this.total = parseInt(this.turnsEl.getAttribute("data-total"), 10) || this.turns.length;
    this.first = parseInt(this.turnsEl.getAttribute("data-first"), 10) || 1;
    this.updatePosition();
  };

  Replay.prototype.speed = function () {
    var select = $("[data-speed]", this.bar);
    return select ? parseFloat(select.value) : 0;
  };

  Replay.prototype.setCurrent = function (index, scroll) {
    if (index < 0 || index >= this.turns.length) return;
    if (this.turns[this.index]) this.turns[this.index].classList.remove("current");
    this.index = index;
    var turn = this.turns[index];
    turn.classList.add("current");
    if (scroll !== false) {
      turn.scrollIntoView({ behavior: "smooth", block: "start" });
      turn.focus({ preventScroll: true });
    }
    this.updatePosition();
  };

  Replay.prototype.updatePosition = function () {
    var position = $("[data-position]", this.bar);
    var progress = $("[data-progress]", this.bar);
    var number = this.index >= 0 ? this.first + this.index : 0;
    if (position) position.textContent = number ? "Turn " + number + " of " + this.total : this.total + " turns";
    if (progress) progress.style.width = (this.total ? 100 * number / this.total : 0) + "%";
  };

  Replay.prototype.hideFrom = function (index) {
    this.turns.forEach(function (turn, i) {
      var hide = i >= index;
      turn.classList.toggle("future", hide);
      var gap = turn.previousElementSibling;
      if (gap && gap.classList.contains("gap")) gap.classList.toggle("future", hide);
    });
  };

  Replay.prototype.reveal = function (index) {
    var turn = this.turns[index];
    if (!turn) return;
    turn.classList.remove("future");
    var gap = turn.previousElementSibling;
    if (gap && gap.classList.contains("gap")) gap.classList.remove("future");
  };

  Replay.prototype.play = function () {
    if (this.playing) return;
    this.playing = true;
    this.label("❚❚ Pause");
    document.body.classList.add("replaying");
    var start = this.index >= 0 && this.index < this.turns.length - 1 ? this.index + 1 : 0;
    if (this.index >= this.turns.length - 1) start = 0;
    this.hideFrom(start);
    this.showTurn(start);
  };

  Replay.prototype.pause = function () {
    this.playing = false;
    clearTimeout(this.timer);
    this.label("▶ Resume");
    this.turns.forEach(function (turn) { turn.classList.remove("thinking"); });
  };

  Replay.prototype.stop = function () {
    this.pause();
    this.hideFrom(this.turns.length);
    this.label("▶ Play");
    document.body.classList.remove("replaying");
  };

  Replay.prototype.label = function (text) {
    var label = $("[data-play-label]", this.bar);
    if (label) label.textContent = text;
  };

  // Show turn `index`: its input first, then (after its latency) its output, then wait for
  // the next turn's start. Waits are the recorded ones divided by the speed, capped.
  Replay.prototype.showTurn = function (index) {
    var self = this;
    var turn = this.turns[index];
    if (!turn) { this.finishPage(); return; }
    this.reveal(index);
    this.setCurrent(index);
    turn.classList.add("thinking");
    var latency = this.wait(this.duration(turn), MAX_TURN_WAIT_MS, 0.4);
    this.timer = setTimeout(function () {
      turn.classList.remove("thinking");
      turn.classList.add("revealing");
      var next = self.turns[index + 1];
      var gap = next ? self.wait(self.gapBefore(next, turn), MAX_GAP_WAIT_MS, 0.6) : 600;
      self.timer = setTimeout(function () {
        turn.classList.remove("revealing");
        if (self.playing) self.showTurn(index + 1);
      }, gap);
    }, latency);
  };

  Replay.prototype.duration = function (turn) {
    return (Number(turn.getAttribute("data-end")) - Number(turn.getAttribute("data-start"))) / 1e6;
  };

  Replay.prototype.gapBefore = function (next, turn) {
    return (Number(next.getAttribute("data-start")) - Number(turn.getAttribute("data-end"))) / 1e6;
  };

  // A recorded wait (ms) at the chosen speed; speed 0 means a fixed pace of one turn a second.
  Replay.prototype.wait = function (recordedMs, cap, share) {
    var speed = this.speed();
    if (!speed) return 1000 * share;
    return Math.min(cap, Math.max(MIN_WAIT_MS, recordedMs / speed));
  };

  Replay.prototype.finishPage = function () {
    var next = this.turnsEl.getAttribute("data-next-page");
    if (next && this.playing) {
      sessionStorage.setItem("skein-playback", JSON.stringify({ speed: $("[data-speed]", this.bar).value }));
      window.location.href = next + "#play";
      return;
    }
    this.stop();
    this.setCurrent(this.turns.length - 1, false);
  };

  Replay.prototype.step = function (delta) {
    var target = Math.min(this.turns.length - 1, Math.max(0, this.index + delta));
    if (this.index < 0) target = delta > 0 ? 0 : this.turns.length - 1;
    if (this.playing) this.pause();
    this.reveal(target);
    this.setCurrent(target);
    if (delta > 0 && this.index === this.turns.length - 1 && this.turnsEl.getAttribute("data-next-page") && this.lastStepAtEnd) {
      window.location.href = this.turnsEl.getAttribute("data-next-page");
    }
    this.lastStepAtEnd = this.index === this.turns.length - 1;
  };

  function setUpReplay() {
    var turnsEl = $("[data-turns]");
    if (!turnsEl) return null;
    var replay = new Replay(turnsEl);
    var bar = replay.bar;
    if (bar) {
      bar.hidden = false;
      $("[data-play]", bar).addEventListener("click", function () {
        if (replay.playing) replay.pause(); else replay.play();
      });
      $$("[data-step]", bar).forEach(function (button) {
        button.addEventListener("click", function () { replay.step(parseInt(button.getAttribute("data-step"), 10)); });
      });
    }
    var match = /^#turn-(\d+)$/.exec(window.location.hash);
    if (match) {
      var index = parseInt(match[1], 10) - replay.first;
      if (index >= 0 && index < replay.turns.length) replay.setCurrent(index);
    }
    if (window.location.hash === "#play") {
      var saved = JSON.parse(sessionStorage.getItem("skein-playback") || "{}");
      if (saved.speed !== undefined && $("[data-speed]", bar)) $("[data-speed]", bar).value = saved.speed;
      history.replaceState(null, "", window.location.pathname + window.location.search);
      replay.play();
    }
    return replay;
  }

  // -- Keyboard --------------------------------------------------------------------------------

  function setUpKeys(replay) {
    var pendingG = false;
    document.addEventListener("keydown", function (event) {
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.target.closest("input, textarea, select, [contenteditable]")) return;
      var key = event.key;
      if (pendingG) {
        pendingG = false;
        if (key === "s") { window.location.href = "/sessions"; return; }
        if (key === "t") { window.location.href = "/traces"; return; }
        if (key === "d") { window.location.href = "/diagnostics"; return; }
      }
      if (key === "g") { pendingG = true; return; }
      if (key === "?") { var dialog = $("#shortcuts"); if (dialog && dialog.showModal) dialog.showModal(); return; }
      if (key === "n" || key === "p") {
        var link = $("[data-key='" + key + "']");
        if (link) window.location.href = link.href;
        return;
      }
      if (replay) {
        if (key === "j" || key === "ArrowDown") { event.preventDefault(); replay.step(1); return; }
        if (key === "k" || key === "ArrowUp") { event.preventDefault(); replay.step(-1); return; }
        if (key === " ") { event.preventDefault(); if (replay.playing) replay.pause(); else replay.play(); return; }
        if (key === "w" && replay.turns[replay.index]) {
          var details = $("details.turn-waterfall", replay.turns[replay.index]);
          if (details) details.open = !details.open;
          return;
        }
      } else {
        rowKeys(event);
      }
    });
  }

  function rowKeys(event) {
    var rows = $$("table[data-rows] tbody tr[data-href]");
    if (!rows.length) return;
    var current = rows.findIndex(function (row) { return row.classList.contains("selected"); });
    var key = event.key;
    var next = current;
    if (key === "j" || key === "ArrowDown") next = Math.min(rows.length - 1, current + 1);
    else if (key === "k" || key === "ArrowUp") next = Math.max(0, current - 1);
    else if (key === "Enter" && current >= 0) { window.location.href = rows[current].getAttribute("data-href"); return; }
    else return;
    event.preventDefault();
    if (rows[current]) rows[current].classList.remove("selected");
    rows[next].classList.add("selected");
    rows[next].scrollIntoView({ block: "nearest" });
  }

  // -- Start -----------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    var replay = setUpReplay();
    if (replay) liveSession(replay);
    liveSessionsList();
    setUpKeys(replay);
    setInterval(function () { $$("time[data-relative]").forEach(function (el) { localiseTimes(el.parentNode); }); }, 30000);
  });
})();
