/* Charts on a phone: a figure's layout.meta.narrow (Plotly relayout updates, set by
   webapp/figures.narrow_layout) applies while the viewport is under 576 px (Bootstrap's "sm",
   as style.css's phone heights), and layout.meta.wide puts the wide layout back. Checked after
   every change of the page (a chart drawn or redrawn) and on resize. */
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 575.98px)");

  function adapt(gd) {
    var layout = gd.layout;
    var meta = layout && layout.meta;
    if (!meta || !meta.narrow || !gd._fullLayout || !window.Plotly) return;
    var narrow = phone.matches;
    // A new figure (Dash redrew the chart) comes with its wide layout.
    var shown = gd.__chartLayout === layout ? gd.__chartNarrow : false;
    if (narrow === shown) return;
    gd.__chartLayout = layout;
    gd.__chartNarrow = narrow;
    window.Plotly.relayout(gd, narrow ? meta.narrow : meta.wide);
  }

  var queued = false;
  function scan() {
    queued = false;
    document.querySelectorAll(".js-plotly-plot").forEach(adapt);
  }
  function queue() {
    if (!queued) {
      queued = true;
      requestAnimationFrame(scan);
    }
  }
  new MutationObserver(queue).observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("resize", queue);
})();
