// The war-room page, live: server-sent events replace the board in place. Without this
// script the page still shows everything; with it, nobody has to reload at 3 a.m.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var live = document.getElementById("live");
  if (!board || !board.dataset.events || !window.EventSource) { if (live) live.hidden = true; return; }
  var lastUpdate = new Date();
  var skew = 0; // the server's clock minus this browser's, read from each board

  function setSkew() {
    var clock = document.getElementById("clock");
    if (clock && clock.dataset.now) skew = Date.parse(clock.dataset.now) - Date.now();
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now() + skew;
    board.querySelectorAll(".countdown").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.until) - now) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = "(" + (h ? h + "h" : "") + pad(m) + "m" + pad(s) + "s)";
    });
  }
  function connected() { live.className = "live"; live.textContent = live.dataset.live || live.textContent; }
  function lost() {
    live.className = "live lost";
    live.textContent = board.dataset.lost + " " + pad(lastUpdate.getHours()) + ":" + pad(lastUpdate.getMinutes());
  }
  live.dataset.live = live.textContent;
  var source = new EventSource(board.dataset.events);
  source.addEventListener("board", function (event) {
    board.innerHTML = event.data;
    setSkew();
    lastUpdate = new Date();
    connected();
    tick();
  });
  source.addEventListener("open", connected);
  source.addEventListener("error", lost);
  setSkew();
  tick();
  setInterval(tick, 1000);
})();
