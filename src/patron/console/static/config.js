// Configuration: a link to a line of the document ("line 42", a section's name) selects that
// line in the editor and puts the focus there. Without this script the link goes to the editor.
"use strict";
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-line]") : null;
  const editor = document.getElementById("config-editor");
  if (!link || !editor) return;
  event.preventDefault();
  const line = Number(link.getAttribute("data-line"));
  const lines = editor.value.split("\n");
  let start = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i += 1) start += lines[i].length + 1;
  const end = start + (lines[line - 1] || "").length;
  editor.focus();
  editor.setSelectionRange(start, end);
  const height = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (line - 4) * height);
});
