// Sends Django's CSRF token with every htmx request.
document.addEventListener("htmx:configRequest", function (event) {
  const token = document.querySelector("meta[name=csrf-token]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
});
// Copy buttons: <button data-copy-target="#id">.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy-target]");
  if (!button) { return; }
  const target = document.querySelector(button.dataset.copyTarget);
  if (target && navigator.clipboard) {
    navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = "Copied";
  }
});
