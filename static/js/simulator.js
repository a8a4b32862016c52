/* The telephone simulator's keypad: the keys 0-9, * and # on the keyboard press the keypad's
 * buttons (when not typing in a field). Everything works without it. */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" || tag === "INPUT";
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || !/^[0-9*#]$/.test(event.key)) return;
    var keypad = document.querySelector("[data-keypad]");
    if (!keypad) return;
    var button = keypad.querySelector('[data-key="' + event.key + '"]');
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
