// Marks are not lost when the connection drops (the counter; the rider's pages). A mark's form
// (class "mark": served, collected, not collected, delivered, no answer, undo) is sent in the
// background; when the network is down the mark is kept on this phone (localStorage), its row
// shows it as not sent yet, and it is sent again when the connection is back (or the page is
// next opened). Each form carries a key of its own (mark_key), so a mark that reached the
// server before the connection dropped counts once. Without this script the forms post as
// ordinary forms: the page works the same, online.
(function () {
  "use strict";
  var STORE = "mealaid.marks.pending";
  var RETRY_MS = 5000;
  var sending = false;

  function pending() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE) || "[]");
    } catch (e) {
      return [];
    }
  }

  function keep(marks) {
    window.localStorage.setItem(STORE, JSON.stringify(marks));
  }

  // A mark kept from an earlier page goes with this page's CSRF token (a login in between
  // gives a new one).
  function send(mark) {
    var token = document.querySelector("input[name=csrf_token]");
    var body = mark.body.map(function (field) {
      return field[0] === "csrf_token" && token ? [field[0], token.value] : field;
    });
    return window.fetch(mark.action, {
      method: "POST",
      body: new URLSearchParams(body),
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
  }

  function show() {
    var marks = pending();
    var note = document.getElementById("offline-note");
    if (note) {
      note.hidden = marks.length === 0 && window.navigator.onLine;
    }
    var words = note ? note.getAttribute("data-pending") : "";
    marks.forEach(function (mark) {
      var row = mark.row && document.getElementById(mark.row);
      if (!row || row.classList.contains("pending")) {
        return;
      }
      row.classList.add("pending");
      var line = document.createElement("div");
      line.className = "pending-note";
      line.setAttribute("role", "status");
      line.textContent = words;
      row.appendChild(line);
      row.querySelectorAll("button").forEach(function (button) {
        button.disabled = true;
      });
    });
  }

  // Send what is kept, oldest first; stop at the first that cannot go (still offline). When
  // all went, the page is opened again to show what the server recorded.
  function flush() {
    if (sending) {
      return;
    }
    var marks = pending();
    if (marks.length === 0) {
      return;
    }
    sending = true;
    var next = function () {
      var left = pending();
      if (left.length === 0) {
        sending = false;
        window.location.reload();
        return;
      }
      send(left[0]).then(
        function (response) {
          if (response.status === 403 || response.url.indexOf("/login") !== -1) {
            // Not logged in any more: kept until someone logs in and the page opens again.
            sending = false;
            show();
            return;
          }
          // Answered (recorded, or refused with a reason the page will show): done with it.
          keep(pending().slice(1));
          next();
        },
        function () {
          sending = false; // still no connection: try again later
          show();
        }
      );
    };
    next();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("mark")) {
      return;
    }
    event.preventDefault();
    var body = Array.from(new FormData(form).entries());
    var submitter = event.submitter;
    if (submitter && submitter.name) {
      body.push([submitter.name, submitter.value]); // Delivered or No answer: which was tapped
    }
    var row = form.closest("li");
    var mark = { action: form.getAttribute("action"), body: body, row: row ? row.id : null };
    form.querySelectorAll("button").forEach(function (button) {
      button.disabled = true;
    });
    send(mark).then(
      function (response) {
        if (response.ok && response.redirected) {
          // The page the server sent us to, at the row tapped (a fetch's answer carries no
          // #fragment). The same address again only moves to its fragment: reload it.
          var target = response.url.split("#")[0];
          var here = mark.row ? "#" + mark.row : "";
          if (target === window.location.href.split("#")[0]) {
            window.history.replaceState(null, "", target + here);
            window.location.reload();
          } else {
            window.location.assign(target + here);
          }
        } else {
          // Refused (too late to undo, say): the form again, as without this script, so the
          // page shows the reason. The same key: it counts once.
          form.submit();
        }
      },
      function () {
        keep(pending().concat([mark]));
        show();
      }
    );
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", show);
  window.setInterval(flush, RETRY_MS);
  show();
  flush();
})();
