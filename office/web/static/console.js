// exitlane office: live lane cards (Server-Sent Events) and the report
// form's period fields. Served from the binary; no inline script.
"use strict";
(function () {
  // The report form shows only the fields of the chosen period.
  var kind = document.querySelector("form.filters select[name=kind]");
  if (kind) {
    var show = function () {
      document.querySelectorAll("form.filters [data-kind]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kind") !== kind.value;
      });
    };
    kind.addEventListener("change", show);
    show();
  }

  var badge = document.getElementById("alarm-count");
  var live = document.querySelector("[data-live]");
  var single = document.querySelector("[data-live-lane]");
  var alarmList = document.querySelector("[data-live-alarms]");
  if (!badge) return; // logged out
  var url = "/events";
  if (single) url += "?lane=" + encodeURIComponent(single.getAttribute("data-live-lane"));
  else if (alarmList) url += "?alarms=1";
  var note = document.getElementById("live-note");
  var es = new EventSource(url);
  es.addEventListener("card", function (ev) {
    var msg = JSON.parse(ev.data);
    var old = document.getElementById("lane-" + msg.lane);
    var holder = document.createElement("div");
    holder.innerHTML = msg.html; // rendered and escaped by the server's templates
    var card = holder.firstElementChild;
    if (!card) return;
    if (old) {
      var changed = old.getAttribute("data-state") !== card.getAttribute("data-state");
      old.replaceWith(card);
      if (changed) {
        card.classList.add("flash");
        setTimeout(function () { card.classList.remove("flash"); }, 1500);
      }
    } else if (live) {
      var empty = live.querySelector("p.calm");
      if (empty) empty.remove();
      live.appendChild(card);
    }
  });
  es.addEventListener("alarms", function (ev) {
    var n = parseInt(ev.data, 10) || 0;
    badge.textContent = String(n);
    badge.classList.toggle("hot", n > 0);
  });
  // The alarms page: the server sends the whole list, rendered and
  // escaped by its templates, when an alarm is raised or cleared.
  es.addEventListener("alarmlist", function (ev) {
    if (!alarmList) return;
    var msg = JSON.parse(ev.data);
    var holder = document.createElement("div");
    holder.innerHTML = msg.html;
    var fresh = holder.firstElementChild;
    if (!fresh) return;
    var known = {};
    alarmList.querySelectorAll("li[data-alarm]").forEach(function (el) { known[el.getAttribute("data-alarm")] = true; });
    fresh.querySelectorAll("li[data-alarm]").forEach(function (el) {
      if (!known[el.getAttribute("data-alarm")]) el.classList.add("flash");
    });
    alarmList.replaceWith(fresh);
    alarmList = fresh;
  });
  es.addEventListener("open", function () {
    if (note) { note.textContent = alarmList ? "Live: alarms appear and clear by themselves." : "Live: cards update by themselves."; note.classList.remove("off"); }
  });
  es.addEventListener("error", function () {
    if (note) { note.textContent = "Live updates interrupted; reconnecting…"; note.classList.add("off"); }
  });
  es.addEventListener("logout", function () { es.close(); window.location = "/login"; });
})();
