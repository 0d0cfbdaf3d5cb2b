/* A dropdown with the class "search-on-open" (the time zone: some 600 zones) puts the cursor in
   its Search box when it opens, so typing a zone filters at once. Dash 4's dcc.Dropdown has no
   prop for this: with a value chosen it focuses that option instead, once it has scrolled the
   list to it (a frame or more later). So until the user clicks or moves with the keyboard, the
   focus that lands on the open list goes to its Search box. */
(function () {
  "use strict";
  var OPENED = ".dash-dropdown.search-on-open[aria-expanded='true']";
  var SEARCH = "input.dash-dropdown-search";
  var opened = null;  // the trigger of a search-on-open dropdown just opened, not yet used

  function content(trigger) {
    return document.getElementById(trigger.getAttribute("aria-controls") || "");
  }

  function focusSearch(tries) {
    var list = opened && content(opened);
    var box = list && list.querySelector(SEARCH);
    if (box) {
      if (document.activeElement !== box) box.focus();
    } else if (opened && tries > 0) {  // the list is not drawn yet
      requestAnimationFrame(function () { focusSearch(tries - 1); });
    }
  }

  new MutationObserver(function (records) {
    records.forEach(function (r) {
      if (r.target.matches && r.target.matches(OPENED)) {
        opened = r.target;
        focusSearch(20);
      } else if (r.target === opened) {
        opened = null;  // closed
      }
    });
  }).observe(document.documentElement,
             {attributes: true, attributeFilter: ["aria-expanded"], subtree: true});

  document.addEventListener("focusin", function (e) {
    var list = opened && content(opened);
    if (list && list.contains(e.target) && !e.target.matches(SEARCH)) focusSearch(0);
  }, true);
  // a click or a move (arrows, Tab, Enter...) is the user's: leave the focus where it goes
  document.addEventListener("pointerdown", function () { opened = null; }, true);
  document.addEventListener("keydown", function (e) {
    if (e.key.length !== 1) opened = null;
  }, true);
})();
