// The elder import page: "Check" runs without leaving the page, so the file chosen stays
// chosen and "Import" sends it next (a browser empties a file input on every page load).
// Without script the form posts as before and the page asks for the file again.
"use strict";

(function () {
  const form = document.getElementById("elder-import");
  const parts = ["import-messages", "import-result"];
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  form.addEventListener("submit", async function (event) {
    const button = event.submitter;
    if (!button || button.value !== "check") {
      return;
    }
    event.preventDefault();
    const data = new FormData(form);
    data.set("action", "check");
    button.disabled = true;
    try {
      // Not form.action: the buttons named "action" hide that property.
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
      });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of parts) {
        const here = document.getElementById(id);
        const fresh = page.getElementById(id);
        if (here && fresh) {
          here.replaceChildren(...fresh.childNodes);
        }
      }
      // The file is still chosen: no need to choose it again.
      const again = document.getElementById("import-again");
      if (again) {
        again.remove();
      }
      form.setAttribute("data-checked", "1");
    } catch (error) {
      form.submit();
    } finally {
      button.disabled = false;
    }
  });
})();
