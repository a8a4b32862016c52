/* Keyboard support for the agent terminal. Everything works without it; it only saves keys.
 *
 *   /            focus the search box (when not typing in a field)
 *   Up / Down    move through search results; Enter opens the focused one
 *   1 - 9        open the search result with that number
 *   Alt+1 - 4    pick the ticket kind (inquiry, pre-sales, repair, complaint) and go to the summary
 *   Esc          in the search box: clear it
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

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey) return;

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
