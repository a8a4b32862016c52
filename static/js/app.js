/* Keyboard support for the agent terminal. Everything works without it; it only saves keys.
 *
 *   /            focus the search box (when not typing in a field)
 *   Up / Down    move through search results; Enter opens the focused one
 *   1 - 9        open the search result with that number
 *   Alt+1 - 4    pick the ticket kind (inquiry, pre-sales, repair, complaint) and go to the summary
 *   Esc          in the search box: clear it
 *   Alt+A        take the next waiting call
 *
 * The incoming-calls panel ([data-incoming]) is refreshed every second from its poll URL, so a
 * call appears within a second of ringing; the tab's title counts the waiting calls. On the
 * terminal an agent who ticks "Ready" (remembered for the tab) is handed the next call as soon
 * as one waits: the page takes it as if Alt+A had been pressed.
 */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return (
      target.isContentEditable ||
      tag === "TEXTAREA" ||
      tag === "SELECT" ||
      (tag === "INPUT" && !/^(checkbox|radio|submit|button|reset)$/i.test(target.type))
    );
  }

  function searchBox() {
    return document.querySelector("[data-search-box]");
  }

  function resultLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-results] [data-result]"));
  }

  function moveThroughResults(event, links) {
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (index <= 0) {
      var box = searchBox();
      if (box) box.focus();
    } else {
      links[index - 1].focus();
    }
    event.preventDefault();
  }

  function ticketForm() {
    return document.getElementById("ticket-form");
  }

  function pickKind(number) {
    var form = ticketForm();
    if (!form) return false;
    var radio = form.querySelector('input[name="kind"][data-kind-shortcut="' + number + '"]');
    if (!radio) return false;
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var summary = form.querySelector('[name="summary"]');
    (summary || radio).focus();
    return true;
  }

  function showFieldsForKind(form) {
    var checked = form.querySelector('input[name="kind"]:checked');
    var kind = checked ? checked.value : "";
    form.querySelectorAll("[data-kind-only]").forEach(function (block) {
      var kinds = block.getAttribute("data-kind-only").split(/\s+/);
      block.hidden = kinds.indexOf(kind) === -1;
    });
  }

  var POLL_MS = 1000;

  function takeNextCall() {
    var form = document.querySelector("[data-take-next]");
    if (!form) return false;
    if (form.getAttribute("data-submitted")) return true;
    form.setAttribute("data-submitted", "1");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
    return true;
  }

  var READY_KEY = "servicedesk.ready";
  var AUTO_TAKEN_KEY = "servicedesk.autoTakenAt";
  var AUTO_TAKE_PAUSE_MS = 2000; // between automatic takes, so that a refusal cannot loop

  function setUpAutoTake(panel) {
    var box = panel.querySelector("[data-auto-take]");
    if (!box || !window.sessionStorage) return null;
    panel.querySelector("[data-auto-take-label]").hidden = false;
    box.checked = window.sessionStorage.getItem(READY_KEY) === "1";
    box.addEventListener("change", function () {
      window.sessionStorage.setItem(READY_KEY, box.checked ? "1" : "0");
      if (box.checked) autoTake(panel);
    });
    return box;
  }

  function autoTake(panel) {
    var box = panel.querySelector("[data-auto-take]");
    if (!box) return;
    var waiting = panel.querySelector("[data-waiting]");
    var busy = !!(waiting && waiting.hasAttribute("data-on-a-call"));
    var paused = panel.querySelector("[data-auto-take-paused]");
    if (paused) paused.hidden = !(box.checked && busy);
    if (!box.checked || busy || !(panel.lastCount > 0)) return;
    var last = Number(window.sessionStorage.getItem(AUTO_TAKEN_KEY)) || 0;
    var now = Date.now();
    if (now - last < AUTO_TAKE_PAUSE_MS && now >= last) return;
    window.sessionStorage.setItem(AUTO_TAKEN_KEY, String(now));
    takeNextCall();
  }

  function showWaitingCount(panel, list, baseTitle) {
    var waiting = list.querySelector("[data-waiting]");
    var count = waiting ? Number(waiting.getAttribute("data-count")) || 0 : 0;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
    var announce = panel.querySelector("[data-incoming-announce]");
    var text = list.querySelector("[data-waiting-count]");
    if (announce && text && panel.lastCount !== count) {
      announce.textContent = count > (panel.lastCount || 0) ? text.textContent.trim() : "";
    }
    panel.lastCount = count;
  }

  function replaceWaitingCalls(list, html) {
    var focused = document.activeElement;
    var focusKey = focused && list.contains(focused) ? focused.getAttribute("data-take-call") : null;
    list.innerHTML = html;
    if (focusKey) {
      var again = list.querySelector('[data-take-call="' + focusKey + '"]');
      (again || list.closest("[data-incoming]").querySelector("[data-take-next] button")).focus();
    }
  }

  function pollIncomingCalls(panel) {
    var list = panel.querySelector("[data-incoming-list]");
    var url = panel.getAttribute("data-poll-url");
    if (!list || !url || !window.fetch) return;
    var baseTitle = document.title;
    var last = list.innerHTML;
    var busy = false;
    showWaitingCount(panel, list, baseTitle);
    setUpAutoTake(panel);
    autoTake(panel);

    function poll() {
      if (busy) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          // Signed out (redirected to the login page) or an error: keep what is shown.
          if (!response.ok || response.redirected) return null;
          return response.text();
        })
        .then(function (html) {
          if (html !== null && html.indexOf("data-waiting") !== -1 && html !== last) {
            last = html;
            replaceWaitingCalls(list, html);
            showWaitingCount(panel, list, baseTitle);
            autoTake(panel);
          }
        })
        .catch(function () {})
        .then(function () {
          busy = false;
        });
    }
    window.setInterval(poll, POLL_MS);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey) return;

    if (event.altKey && !event.shiftKey && (event.code === "KeyA" || /^a$/i.test(event.key))) {
      if (takeNextCall()) event.preventDefault();
      return;
    }

    if (event.altKey && /^[1-4]$/.test(event.key) && !event.shiftKey) {
      if (pickKind(event.key)) event.preventDefault();
      return;
    }
    if (event.altKey) return;

    var links = resultLinks();
    var box = searchBox();

    if (event.key === "Escape" && box && event.target === box && box.value) {
      box.value = "";
      event.preventDefault();
      return;
    }
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && links.length) {
      var inResults = links.indexOf(event.target) !== -1;
      if (inResults || (event.target === box && event.key === "ArrowDown")) {
        moveThroughResults(event, links);
      }
      return;
    }
    if (isTyping(event.target)) return;

    if (event.key === "/" && box) {
      box.focus();
      box.select();
      event.preventDefault();
      return;
    }
    if (/^[1-9]$/.test(event.key) && links.length >= Number(event.key)) {
      links[Number(event.key) - 1].click();
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-incoming]").forEach(pollIncomingCalls);
    var form = ticketForm();
    if (form) {
      showFieldsForKind(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "kind") showFieldsForKind(form);
      });
      var invalid = form.querySelector('[aria-invalid="true"]');
      if (invalid) invalid.focus();
    }
    var links = resultLinks();
    var box = searchBox();
    if (links.length && box && document.activeElement !== box) links[0].focus();
  });
})();
