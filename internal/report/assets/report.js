// Opens the details of a step when its bar or a link to it is followed,
// and toggles every step at once. No network, no dependencies.
(function () {
  "use strict";
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var toggle = document.getElementById("toggle-all");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var steps = document.querySelectorAll("details.step");
      var open = toggle.getAttribute("data-open") !== "1";
      for (var i = 0; i < steps.length; i++) { steps[i].open = open; }
      toggle.setAttribute("data-open", open ? "1" : "0");
      toggle.textContent = open ? "Collapse all" : "Expand all";
    });
  }
})();
