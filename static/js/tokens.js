// The new API token: selected when focused, copied by its button. A file, not inline
// handlers, so that the Content-Security-Policy can forbid inline script.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("new-key");
  const button = document.getElementById("copy-key");
  if (!box) return;
  box.addEventListener("focus", () => box.select());
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(box.value);
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Press Ctrl+C to copy";
    }
  });
});
