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
// Each table cell learns its column's header (data-label) so that on a phone the stacked rows read "Status: sent".
function labelTableCells(root) {
  root.querySelectorAll("table.table").forEach(function (table) {
    const headers = Array.from(table.querySelectorAll("thead th")).map(function (th) { return th.textContent.trim(); });
    if (!headers.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.from(row.children).forEach(function (cell, index) {
        if (headers[index] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) { cell.dataset.label = headers[index]; }
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { labelTableCells(document); });
document.addEventListener("htmx:afterSettle", function () { labelTableCells(document); });
