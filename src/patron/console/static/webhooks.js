// Webhooks pages: a copy button for a secret shown once, a clean URL after a form's answer,
// and the live tail of the org's events (server-sent events). No inline code: the CSP
// allows only the console's own files.
(function () {
  "use strict";

  // An answer page of a POST (a rotated secret, a test send) gets the endpoint page's URL,
  // so reloading it reads the page again instead of sending the form again.
  var canonical = document.querySelector("[data-canonical]");
  if (canonical && window.history.replaceState) {
    var url = canonical.getAttribute("data-canonical");
    if (url && window.location.pathname !== url) {
      window.history.replaceState(null, "", url);
    }
  }

  var secret = document.getElementById("secret-value");
  if (secret && navigator.clipboard) {
    var copy = document.createElement("button");
    copy.type = "button";
    copy.className = "secondary copy";
    copy.textContent = "Copy";
    copy.setAttribute("data-testid", "copy-secret");
    var said = document.createElement("span");
    said.className = "muted";
    said.setAttribute("role", "status");
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(secret.textContent || "").then(
        function () { said.textContent = " Copied."; },
        function () { said.textContent = " Copying failed: select the secret and copy it."; }
      );
    });
    secret.parentNode.appendChild(document.createTextNode(" "));
    secret.parentNode.appendChild(copy);
    secret.parentNode.appendChild(said);
  }

  var section = document.querySelector("[data-stream]");
  if (!section || !window.EventSource) {
    return;
  }
  var note = document.querySelector(".needs-js");
  if (note) {
    note.hidden = true;
  }
  section.hidden = false;
  var list = section.querySelector(".tail-list");
  var status = section.querySelector("[data-testid='tail-status']");
  var MAX_ROWS = 200;
  var source = new EventSource(section.getAttribute("data-stream"));

  function cell(text, className) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    return span;
  }

  source.addEventListener("open", function () {
    status.textContent = "Live: new events appear at the top of the list.";
    section.setAttribute("data-live", "true");
  });
  source.addEventListener("outbox", function (message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    var item = document.createElement("li");
    item.setAttribute("data-testid", "tail-event");
    item.setAttribute("data-event-type", event.type);
    if (event.customerId !== null && event.customerId !== undefined) {
      item.setAttribute("data-customer-id", String(event.customerId));
    }
    item.appendChild(cell(event.at, "at"));
    item.appendChild(cell(event.type, "type"));
    item.appendChild(cell(
      event.customerId === null || event.customerId === undefined ? "no customer" : "customer " + event.customerId,
      "customer"
    ));
    item.appendChild(cell(event.eventId, "id muted"));
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_ROWS) {
      list.removeChild(list.lastChild);
    }
  });
  source.addEventListener("end", function (message) {
    source.close();
    section.setAttribute("data-live", "false");
    status.textContent = "Stopped: " + message.data;
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      section.setAttribute("data-live", "false");
      status.textContent = "Stopped. Reload the page to start again (you may need to sign in).";
    } else {
      status.textContent = "Connection lost; reconnecting …";
    }
  });
})();
