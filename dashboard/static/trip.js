"use strict";
for (const cell of document.querySelectorAll("td.ts")) {
  const ms = Number(cell.dataset.ms);
  if (ms) cell.textContent = new Date(ms).toLocaleString();
}
