// The console's only script; every page works without it.
// A hold's countdown: an element with data-countdown-seconds="N" counts down from N seconds after the page loaded
// ("4 min 59 s"), then says the hold has lapsed. Without this script the page still shows the hold's expiry time.
"use strict";
document.querySelectorAll("[data-countdown-seconds]").forEach(function (element) {
  var end = Date.now() + 1000 * Number(element.getAttribute("data-countdown-seconds"));
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    if (left === 0) {
      element.textContent = "expirée : relancez la recherche";
      element.classList.add("warn");
      return;
    }
    var seconds = String(left % 60).padStart(2, "0");
    element.textContent = Math.floor(left / 60) + " min " + seconds + " s";
    window.setTimeout(tick, 1000);
  }
  tick();
});

// A form is sent once: its button is disabled while the next page loads (a double click would send it twice),
// and enabled again if the page comes back from the browser's history.
document.querySelectorAll("form[method=post]").forEach(function (form) {
  form.addEventListener("submit", function () {
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
});
